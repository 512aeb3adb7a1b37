package bulwarkhttp

import (
	"math"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// FuzzRetryAfterRoundTrip checks what the middleware writes against what
// the transport reads: a hint written as Retry-After and read back is
// never shorter than the hint, so that a client that waits it is not
// early, and at most a second longer (the rounding up), but for hints the
// header cannot hold, which saturate. The seeds are in
// testdata/fuzz/FuzzRetryAfterRoundTrip.
func FuzzRetryAfterRoundTrip(f *testing.F) {
	f.Fuzz(func(t *testing.T, ns int64) {
		d := time.Duration(ns)
		v := retryAfterSeconds(d)
		require.True(t, isDigits(v), "delay-seconds, got %q", v)
		got, ok := parseRetryAfter(v, fuzzNow)
		require.True(t, ok, "%q reads back", v)
		if d <= 0 {
			require.Zero(t, got, "a hint of %v is a wait of 0", d)
			return
		}
		require.GreaterOrEqual(t, got, d, "%q must not be shorter than %v", v, d)
		if got != math.MaxInt64 {
			require.Less(t, got-d, time.Second, "%q must be within a second of %v", v, d)
		}
	})
}

// FuzzClientIP builds the key functions from a random list of trusted
// proxies and reads random headers with them: a list that has an entry
// that is neither a prefix nor an address panics at construction, naming
// the function; any other works, and keys every request by an address in
// canonical form (or by a RemoteAddr that is no address, as it is), the
// peer itself unless the peer is trusted. The seeds are in
// testdata/fuzz/FuzzClientIP.
func FuzzClientIP(f *testing.F) {
	f.Fuzz(func(t *testing.T, trusted, remote, header string) {
		entries := strings.Split(trusted, ",")
		if trusted == "" {
			entries = nil
		}
		for _, c := range []struct {
			name string
			make func(...string) func(*http.Request) string
			hdr  string
		}{
			{"ClientIP", ClientIP, "X-Forwarded-For"},
			{"ClientIPForwarded", ClientIPForwarded, "Forwarded"},
		} {
			var key func(*http.Request) string
			if v := recovered(func() { key = c.make(entries...) }); v != nil {
				msg, _ := v.(string)
				require.True(t, strings.HasPrefix(msg, "bulwark/bulwarkhttp: "+c.name+": trusted proxy must be"), "%#v", v)
				return
			}
			r := &http.Request{RemoteAddr: remote, Header: http.Header{}}
			r.Header.Set(c.hdr, header)
			k := key(r)
			peer, isNode := parseNode(remote)
			if !isNode {
				require.Equal(t, remote, k, "a peer that is no address is the key as it is")
				continue
			}
			a, err := netip.ParseAddr(k)
			require.NoError(t, err, "the key %q is an address", k)
			require.Equal(t, a.String(), k, "in canonical form")
			require.False(t, a.Is4In6())
			require.Empty(t, a.Zone())
			if !trustedBy(entries, peer) {
				require.Equal(t, peer.String(), k, "an untrusted peer is the client")
			}
		}
	})
}

// trustedBy reports whether the peer is one of the trusted entries, read
// as the doc of ClientIP says: CIDR prefixes or single addresses, an
// IPv4 address also matching its IPv4-mapped IPv6 form.
func trustedBy(entries []string, peer netip.Addr) bool {
	forms := []netip.Addr{peer}
	if peer.Is4() {
		forms = append(forms, netip.AddrFrom16(peer.As16()))
	}
	for _, e := range entries {
		p, err := netip.ParsePrefix(e)
		if err != nil {
			a, _ := netip.ParseAddr(e)
			a = a.WithZone("").Unmap()
			p = netip.PrefixFrom(a, a.BitLen())
		}
		for _, f := range forms {
			if p.Masked().Contains(f) {
				return true
			}
		}
	}
	return false
}

func recovered(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}
