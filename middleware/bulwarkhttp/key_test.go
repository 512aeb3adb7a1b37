package bulwarkhttp_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bulwark-go/bulwark/middleware/bulwarkhttp"
	"github.com/stretchr/testify/assert"
)

func TestClientIP(t *testing.T) {
	proxies := []string{"10.0.0.0/8", "192.0.2.7", "2001:db8:ffff::/48"}
	tests := []struct {
		name    string
		remote  string
		xff     []string
		trusted []string
		want    string
	}{
		{"no proxies: the peer", "203.0.113.9:4000", []string{"1.2.3.4"}, nil, "203.0.113.9"},
		{"untrusted peer: its header is ignored", "203.0.113.9:4000", []string{"1.2.3.4"}, proxies, "203.0.113.9"},
		{"trusted peer: the hop before it", "10.1.2.3:4000", []string{"198.51.100.1"}, proxies, "198.51.100.1"},
		{"right-most untrusted hop: the spoofed left is ignored", "10.1.2.3:4000", []string{"6.6.6.6, 198.51.100.1, 10.9.9.9"}, proxies, "198.51.100.1"},
		{"several lines read in order", "10.1.2.3:4000", []string{"6.6.6.6", "198.51.100.1", "10.9.9.9"}, proxies, "198.51.100.1"},
		{"a single trusted address", "192.0.2.7:1", []string{"198.51.100.2"}, proxies, "198.51.100.2"},
		{"every hop trusted: the leftmost", "10.1.2.3:4000", []string{"10.0.0.5, 10.0.0.6"}, proxies, "10.0.0.5"},
		{"no header: the peer", "10.1.2.3:4000", nil, proxies, "10.1.2.3"},
		{"garbage hop: the last proxy believed", "10.1.2.3:4000", []string{"198.51.100.1, garbage, 10.9.9.9"}, proxies, "10.9.9.9"},
		{"empty hop: the last proxy believed", "10.1.2.3:4000", []string{"198.51.100.1,, "}, proxies, "10.1.2.3"},
		{"hop with port", "10.1.2.3:4000", []string{"198.51.100.1:5555"}, proxies, "198.51.100.1"},
		{"IPv6 hop, bare", "10.1.2.3:4000", []string{"2001:db8::1"}, proxies, "2001:db8::1"},
		{"IPv6 hop, bracketed with port", "10.1.2.3:4000", []string{"[2001:db8::1]:443"}, proxies, "2001:db8::1"},
		{"IPv6 trusted peer", "[2001:db8:ffff::1]:80", []string{"198.51.100.1"}, proxies, "198.51.100.1"},
		{"IPv4-mapped peer is IPv4", "[::ffff:10.1.2.3]:80", []string{"198.51.100.1"}, proxies, "198.51.100.1"},
		{"IPv4-mapped hop is IPv4", "10.1.2.3:80", []string{"::ffff:198.51.100.1"}, proxies, "198.51.100.1"},
		{"zone dropped", "[fe80::1%eth0]:80", nil, nil, "fe80::1"},
		{"canonical form", "[2001:DB8:0:0::1]:80", nil, nil, "2001:db8::1"},
		{"peer that is no address", "@", nil, proxies, "@"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			r.Header.Set("Forwarded", "for=9.9.9.9") // never read by ClientIP
			assert.Equal(t, tt.want, bulwarkhttp.ClientIP(tt.trusted...)(r))
		})
	}
}

func TestClientIPForwarded(t *testing.T) {
	proxies := []string{"10.0.0.0/8"}
	tests := []struct {
		name      string
		forwarded []string
		want      string
	}{
		{"one element", []string{"for=198.51.100.1"}, "198.51.100.1"},
		{"other pairs and case", []string{"proto=https;For=198.51.100.1;by=10.0.0.1"}, "198.51.100.1"},
		{"right-most untrusted", []string{"for=6.6.6.6, for=198.51.100.1, for=10.2.2.2"}, "198.51.100.1"},
		{"quoted IPv6 with port", []string{`for="[2001:db8:cafe::17]:4711"`}, "2001:db8:cafe::17"},
		{"quoted IPv4 with port", []string{`for="198.51.100.1:80"`}, "198.51.100.1"},
		{"obfuscated port", []string{`for="198.51.100.1:_p1"`}, "198.51.100.1"},
		{"unknown: the last proxy believed", []string{"for=198.51.100.1, for=unknown"}, "10.1.2.3"},
		{"obfuscated node: the last proxy believed", []string{"for=_hidden, for=10.3.3.3"}, "10.3.3.3"},
		{"element without for", []string{"for=198.51.100.1, proto=http"}, "10.1.2.3"},
		{"malformed: nothing believed", []string{"for=198.51.100.1, for"}, "10.1.2.3"},
		{"malformed quoted", []string{`for="198.51.100.1`}, "10.1.2.3"},
		{"unquoted IPv6 breaks the grammar", []string{"for=[2001:db8::1]"}, "10.1.2.3"},
		{"for twice in one element", []string{"for=198.51.100.1;for=198.51.100.2"}, "10.1.2.3"},
		{"escaped quote is no address", []string{`for="198.51.100.1\"", for=10.5.5.5`}, "10.5.5.5"},
		{"several lines", []string{"for=6.6.6.6", "for=198.51.100.1"}, "198.51.100.1"},
		{"spaces around separators", []string{" for=198.51.100.1 ; proto=http , for=10.4.4.4 "}, "198.51.100.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = "10.1.2.3:4000"
			for _, v := range tt.forwarded {
				r.Header.Add("Forwarded", v)
			}
			r.Header.Set("X-Forwarded-For", "9.9.9.9") // never read by ClientIPForwarded
			assert.Equal(t, tt.want, bulwarkhttp.ClientIPForwarded(proxies...)(r))
		})
	}
}

func TestClientIPRejectsBadProxies(t *testing.T) {
	assert.PanicsWithValue(t, `bulwark/bulwarkhttp: ClientIP: trusted proxy must be a CIDR prefix or an IP address, got "10.0.0.0/33"`, func() {
		bulwarkhttp.ClientIP("10.0.0.0/33")
	})
	assert.PanicsWithValue(t, `bulwark/bulwarkhttp: ClientIPForwarded: trusted proxy must be a CIDR prefix or an IP address, got "proxy.local"`, func() {
		bulwarkhttp.ClientIPForwarded("proxy.local")
	})
}

func TestClientIPPrefixIsMasked(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.200.0.1:1"
	r.Header.Set("X-Forwarded-For", "198.51.100.1")
	assert.Equal(t, "198.51.100.1", bulwarkhttp.ClientIP("10.1.2.3/8")(r), "10.1.2.3/8 means 10.0.0.0/8")
	assert.Equal(t, "198.51.100.1", bulwarkhttp.ClientIP("::ffff:10.0.0.0/104")(r), "an IPv4-mapped prefix covers IPv4")
}

func TestHeaderKey(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Add("X-Api-Key", "k1")
	r.Header.Add("X-Api-Key", "k2")
	assert.Equal(t, "k1", bulwarkhttp.HeaderKey("x-api-key")(r))
	assert.Equal(t, "", bulwarkhttp.HeaderKey("X-Other")(r))
	assert.PanicsWithValue(t, "bulwark/bulwarkhttp: HeaderKey: header name must not be empty", func() { bulwarkhttp.HeaderKey("") })
}

func TestPatternKey(t *testing.T) {
	var keys []string
	record := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		keys = append(keys, bulwarkhttp.KeyFromContext(r.Context()))
	})

	// Wrapping the mux's handlers: the mux set Request.Pattern.
	mux := http.NewServeMux()
	mw := bulwarkhttp.Middleware(&recorder{}, bulwarkhttp.WithKey(bulwarkhttp.PatternKey(nil)))
	mux.Handle("GET /items/{id}", mw(record))
	for _, p := range []string{"/items/1", "/items/2"} {
		mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}

	// Wrapping the mux itself: the pattern it would match.
	inner := http.NewServeMux()
	inner.Handle("GET /users/{id}", record)
	outer := bulwarkhttp.Middleware(&recorder{}, bulwarkhttp.WithKey(bulwarkhttp.PatternKey(inner)))(inner)
	outer.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/users/7", nil))

	assert.Equal(t, []string{"GET /items/{id}", "GET /items/{id}", "GET /users/{id}"}, keys)
}

func TestKeyFromContextWithoutKey(t *testing.T) {
	assert.Equal(t, "", bulwarkhttp.KeyFromContext(httptest.NewRequest("GET", "/", nil).Context()))
}
