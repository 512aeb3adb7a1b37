package benchmarks

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The HTTP scenarios put each library's transport or middleware, with a
// retry, a breaker and a timeout (transports) or a breaker and a rate
// limiter (middleware) that let everything through, around in-memory ends,
// so that the figures are what the wrapping costs, beside the bare call and
// the same bulwark policies run by hand.

// memTransport is the in-memory RoundTripper every transport row wraps: a
// fresh 200 response, with an empty body, per request.
type memTransport struct{}

func (memTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r, ProtoMajor: 1, ProtoMinor: 1}, nil
}

// transportRunner is one peer's transport, built once per benchmark.
type transportRunner func(base http.RoundTripper) http.RoundTripper

func benchTransport(b *testing.B, rt http.RoundTripper) {
	req, _ := http.NewRequest("GET", "http://upstream.internal/items", nil)
	b.ReportAllocs()
	for b.Loop() {
		resp, err := rt.RoundTrip(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("unexpected outcome: %v", err)
		}
		resp.Body.Close()
	}
}

func benchTransportParallel(b *testing.B, rt http.RoundTripper) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req, _ := http.NewRequest("GET", "http://upstream.internal/items", nil)
		for pb.Next() {
			resp, err := rt.RoundTrip(req)
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Errorf("unexpected outcome: %v", err)
				return
			}
			resp.Body.Close()
		}
	})
}

var transports = []struct {
	name string
	rt   transportRunner
}{
	{"bare", func(base http.RoundTripper) http.RoundTripper { return base }},
	{"by-hand", bulwarkByHandTransport},
	{"bulwark", bulwarkTransport},
	{"bulwark-timeout-policy", bulwarkTransportTimeoutPolicy},
	{"bulwark-standard", bulwarkStandardTransport},
	{"failsafe-go", failsafeTransport},
	{"retryablehttp", retryablehttpTransport},
}

// BenchmarkHTTPTransport: retry (3 attempts), breaker and a 1s timeout per
// attempt around a RoundTripper that answers at once (retryablehttp has no
// breaker).
func BenchmarkHTTPTransport(b *testing.B) {
	for _, tt := range transports {
		b.Run(tt.name, func(b *testing.B) { benchTransport(b, tt.rt(memTransport{})) })
	}
}

func BenchmarkHTTPTransportParallel(b *testing.B) {
	for _, tt := range transports {
		b.Run(tt.name, func(b *testing.B) { benchTransportParallel(b, tt.rt(memTransport{})) })
	}
}

// okHandler is the handler every middleware row wraps.
var okHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "ok") //nolint:errcheck
})

func benchHandler(b *testing.B, h http.Handler) {
	r := httptest.NewRequest("GET", "/items", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("unexpected status %d", w.Code)
		}
	}
}

func benchHandlerParallel(b *testing.B, h http.Handler) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := httptest.NewRequest("GET", "/items", nil)
		for pb.Next() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Errorf("unexpected status %d", w.Code)
				return
			}
		}
	})
}

var middlewares = []struct {
	name string
	h    func() http.Handler
}{
	{"bare", func() http.Handler { return okHandler }},
	{"execute", bulwarkExecuteHandler},
	{"bulwark", bulwarkMiddleware},
	{"failsafe-go", failsafeMiddleware},
}

// BenchmarkHTTPMiddleware: a breaker and a rate limiter that admit
// everything around a handler that writes 200 "ok", into a fresh
// httptest.ResponseRecorder each time. "execute" is the same bulwark
// policies' Execute around the handler, by hand.
func BenchmarkHTTPMiddleware(b *testing.B) {
	for _, tt := range middlewares {
		b.Run(tt.name, func(b *testing.B) { benchHandler(b, tt.h()) })
	}
}

func BenchmarkHTTPMiddlewareParallel(b *testing.B) {
	for _, tt := range middlewares {
		b.Run(tt.name, func(b *testing.B) { benchHandlerParallel(b, tt.h()) })
	}
}

// httpAttemptTimeout is every transport's timeout per attempt.
const httpAttemptTimeout = time.Second

// flakyTransport answers 503 to the first fails requests, then 200.
type flakyTransport struct {
	fails int32
	sent  atomic.Int32
}

func (f *flakyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	code := http.StatusOK
	if f.sent.Add(1) <= f.fails {
		code = http.StatusServiceUnavailable
	}
	return &http.Response{StatusCode: code, Body: http.NoBody, Request: r, Header: http.Header{}}, nil
}

// TestHTTPHarnessesDoWhatTheBenchmarksClaim: every transport row retries
// (two 503s, then the answer), and every middleware row admits every
// request, so that the figures are of the success path.
func TestHTTPHarnessesDoWhatTheBenchmarksClaim(t *testing.T) {
	for _, tt := range transports[1:] {
		t.Run(tt.name, func(t *testing.T) {
			base := &flakyTransport{fails: 2}
			req, _ := http.NewRequest("GET", "http://upstream.internal/items", nil)
			resp, err := tt.rt(base).RoundTrip(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, int32(3), base.sent.Load())
		})
	}
	for _, tt := range middlewares[1:] {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.h()
			codes := map[int]int{}
			for range 200 {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest("GET", "/items", nil))
				codes[w.Code]++
			}
			assert.Equal(t, map[int]int{http.StatusOK: 200}, codes, "the policies admit everything")
		})
	}
}
