package bulwarkhttp

import (
	"context"
	"net/http"
	"net/netip"
)

// keyKey finds a request's key in a context. The value is a *string: a
// string in an interface would be allocated on every lookup.
type keyKey struct{}

// KeyFromContext returns the key of the request that ctx belongs to: the
// key WithKey computed on the server, the request's host (URL.Host) on the
// client. It returns "" when there is none. It has the shape
// ratelimit.NewKeyed takes:
//
//	perClient := ratelimit.NewKeyed(10, 20, bulwarkhttp.KeyFromContext)
//	mw := bulwarkhttp.Middleware(perClient, bulwarkhttp.WithKey(bulwarkhttp.ClientIP()))
func KeyFromContext(ctx context.Context) string {
	if p, ok := ctx.Value(keyKey{}).(*string); ok {
		return *p
	}
	return ""
}

// ClientIP returns a key function for WithKey that keys a request by the
// IP address of its client.
//
// With no trusted proxy, the client is the peer of the connection
// (Request.RemoteAddr). With trusted proxies, given as CIDR prefixes
// ("10.0.0.0/8") or single addresses, the X-Forwarded-For header is read
// when, and only when, the peer is one of them: walking its hops from the
// right, where the nearest proxy appended, the client is the first hop
// that is not a trusted proxy. Every hop left of that one could have been
// written by the client itself, so none is believed: a client cannot pick
// its own key by sending X-Forwarded-For. A hop that is no address
// ("unknown", garbage) ends the walk, and the last hop believed, a
// trusted proxy, is the key. When every hop is trusted, the key is the
// leftmost.
//
// ClientIP reads X-Forwarded-For only, never Forwarded: a proxy appends to
// one of them, and a client could write the other freely. Use
// ClientIPForwarded behind proxies that write Forwarded (RFC 7239).
//
// The key is the address in its canonical form, without port or zone, an
// IPv4-mapped IPv6 address written as IPv4. A RemoteAddr that is no
// address (a Unix socket) is the key as it is. ClientIP panics if a
// trusted proxy is neither a prefix nor an address.
func ClientIP(trustedProxies ...string) func(r *http.Request) string {
	return clientIP("ClientIP", false, trustedProxies)
}

// ClientIPForwarded is ClientIP for proxies that append to the Forwarded
// header of RFC 7239 (the "for" parameter of each element) instead of
// X-Forwarded-For. A Forwarded line that breaks the grammar is not
// believed at all: the key is then the peer, the nearest trusted proxy.
func ClientIPForwarded(trustedProxies ...string) func(r *http.Request) string {
	return clientIP("ClientIPForwarded", true, trustedProxies)
}

func clientIP(name string, forwarded bool, trustedProxies []string) func(*http.Request) string {
	trusted := make([]netip.Prefix, 0, len(trustedProxies))
	for _, s := range trustedProxies {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				panicf(name, "trusted proxy must be a CIDR prefix or an IP address, got %q", s)
			}
			a = a.Unmap().WithZone("")
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		trusted = append(trusted, p.Masked())
	}
	t := &proxies{prefixes: trusted, forwarded: forwarded}
	return t.clientIP
}

type proxies struct {
	prefixes  []netip.Prefix
	forwarded bool // read Forwarded, else X-Forwarded-For
}

func (t *proxies) trusts(a netip.Addr) bool {
	for _, p := range t.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (t *proxies) clientIP(r *http.Request) string {
	peer, ok := parseNode(r.RemoteAddr)
	if !ok {
		return r.RemoteAddr
	}
	if !t.trusts(peer) {
		return peer.String()
	}
	var buf [8]string
	var hops []string
	if t.forwarded {
		if hops, ok = appendForwarded(buf[:0], r.Header.Values("Forwarded")); !ok {
			return peer.String()
		}
	} else {
		hops = appendXForwardedFor(buf[:0], r.Header.Values("X-Forwarded-For"))
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseNode(hops[i])
		if !ok {
			break
		}
		client = a
		if !t.trusts(a) {
			break
		}
	}
	return client.String()
}

// HeaderKey returns a key function for WithKey that keys a request by the
// value of its header name (the first line; "" when absent): an API key,
// a tenant. The client chooses that value: key only by headers that a
// proxy in front of the server sets or checks. HeaderKey panics if name is
// empty.
func HeaderKey(name string) func(r *http.Request) string {
	if name == "" {
		panicf("HeaderKey", "header name must not be empty")
	}
	name = http.CanonicalHeaderKey(name)
	return func(r *http.Request) string {
		if v := r.Header[name]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
}

// PatternKey returns a key function for WithKey that keys a request by the
// route pattern that matched it ("GET /items/{id}"): a limit per route, not
// per URL, so that /items/1 and /items/2 share one.
//
// Request.Pattern is set by http.ServeMux before it calls the handler it
// matched, so it is there when the middleware wraps the handlers given to
// the mux. When the middleware wraps the mux itself, give the mux: the key
// is the pattern mux.Handler finds for the request (its lookup, once more
// per request). With a nil mux, the key is Request.Pattern, "" when no mux
// has matched the request yet.
func PatternKey(mux *http.ServeMux) func(r *http.Request) string {
	return func(r *http.Request) string {
		if r.Pattern != "" || mux == nil {
			return r.Pattern
		}
		_, pattern := mux.Handler(r)
		return pattern
	}
}
