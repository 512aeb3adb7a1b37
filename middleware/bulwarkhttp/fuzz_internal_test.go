package bulwarkhttp

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var fuzzNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func TestParseRetryAfter(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{"120", 120 * time.Second, true},
		{" 7\t", 7 * time.Second, true},
		{"00042", 42 * time.Second, true},
		{"9223372036", 9223372036 * time.Second, true},
		{"9223372037", math.MaxInt64, true},          // one past what fits: saturates
		{"9223372036854775807", math.MaxInt64, true}, // MaxInt64 seconds
		{"99999999999999999999999999", math.MaxInt64, true},
		{"-1", 0, false},
		{"+5", 0, false},
		{"1.5", 0, false},
		{"1e3", 0, false},
		{"", 0, false},
		{"   ", 0, false},
		{"soon", 0, false},
		{"Sat, 01 Mar 2025 12:00:30 GMT", 30 * time.Second, true},                  // IMF-fixdate
		{"Saturday, 01-Mar-25 12:01:00 GMT", time.Minute, true},                    // RFC 850
		{"Sat Mar  1 12:00:05 2025", 5 * time.Second, true},                        // asctime
		{"Sat, 01 Mar 2025 11:00:00 GMT", 0, true},                                 // in the past: now
		{"Fri, 31 Dec 9999 23:59:59 GMT", math.MaxInt64, true},                     // far future saturates
		{"Sat, 01 Mar 2025 12:00:30 UTC", 0, false},                                // not GMT
		{"Sat, 32 Mar 2025 12:00:30 GMT", 0, false},                                // no such day
		{"Sat, 01 Mar 2025 12:00:30 GMT, Sat, 01 Mar 2025 12:00:31 GMT", 0, false}, // two values
	}
	for _, tt := range tests {
		d, ok := parseRetryAfter(tt.in, fuzzNow)
		assert.Equal(t, tt.ok, ok, "%q", tt.in)
		assert.Equal(t, tt.want, d, "%q", tt.in)
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "120", "-1", "9223372036854775807", "Sat, 01 Mar 2025 12:00:30 GMT", "Sat Mar  1 12:00:05 2025", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseRetryAfter(s, fuzzNow)
		if !ok {
			require.Zero(t, d)
			return
		}
		require.GreaterOrEqual(t, d, time.Duration(0), "a wait is never negative: %q", s)
		v := trimOWS(s)
		if isDigits(v) {
			n, err := strconv.ParseUint(v, 10, 64)
			if err == nil && n <= math.MaxInt64/uint64(time.Second) {
				require.Equal(t, time.Duration(n)*time.Second, d)
			} else {
				require.Equal(t, time.Duration(math.MaxInt64), d, "saturated: %q", s)
			}
			return
		}
		_, err := http.ParseTime(v)
		require.NoError(t, err, "only numbers and HTTP-dates are accepted: %q", s)
	})
}

func FuzzForwarded(f *testing.F) {
	for _, s := range []string{
		"for=192.0.2.60;proto=http;by=203.0.113.43",
		`for="[2001:db8:cafe::17]:4711"`,
		"for=192.0.2.43, for=198.51.100.17",
		"for=unknown", "for=_hidden", `for="\"x"`, "for=", ";;,,", "for=a;for=b", `for="`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		hops, ok := appendForwarded(nil, []string{s})
		if ok {
			require.Equal(t, strings.Count(s, ",")-quotedCommas(s)+1, len(hops), "one hop per element of %q", s)
		}
		for _, h := range hops {
			if h != "\\" {
				require.Contains(t, s, h, "a hop is a piece of the header")
			}
			if a, ok := parseNode(h); ok {
				require.True(t, a.IsValid())
				require.Empty(t, a.Zone())
				require.False(t, a.Is4In6())
			}
		}
	})
}

// quotedCommas counts the commas inside quoted strings of a Forwarded
// line that parsed.
func quotedCommas(s string) int {
	n, in := 0, false
	for i := 0; i < len(s); i++ {
		switch {
		case in && s[i] == '\\':
			// A quoted pair: the character after the backslash is part
			// of the quoted string, a comma included.
			if i++; i < len(s) && s[i] == ',' {
				n++
			}
		case s[i] == '"':
			in = !in
		case in && s[i] == ',':
			n++
		}
	}
	return n
}

func FuzzXForwardedFor(f *testing.F) {
	for _, s := range []string{"203.0.113.195", "203.0.113.195, 2001:db8:85a3::8a2e:370:7334", "[::1]:80, 10.0.0.1:8080", ",,", " , x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		hops := appendXForwardedFor(nil, []string{s})
		require.Len(t, hops, strings.Count(s, ",")+1)
		for _, h := range hops {
			require.Contains(t, s, h)
			if a, ok := parseNode(h); ok {
				require.True(t, a.IsValid())
				require.Empty(t, a.Zone())
			}
		}
		// The key function never panics and answers with an address or
		// the peer.
		r, _ := http.NewRequest("GET", "http://x/", nil)
		r.RemoteAddr = "10.0.0.1:1"
		r.Header.Set("X-Forwarded-For", s)
		require.NotEmpty(t, ClientIP("10.0.0.0/8")(r))
		r.Header.Set("Forwarded", s)
		require.NotEmpty(t, ClientIPForwarded("10.0.0.0/8")(r))
	})
}
