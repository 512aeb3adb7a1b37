package bulwarkhttp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bulwark-go/bulwark/middleware/bulwarkhttp"
)

// The package's own benchmarks, without httptest.ResponseRecorder's
// allocations; the benchmarks module compares with peers.

func BenchmarkMiddleware(b *testing.B) {
	p := admitAll()
	r := httptest.NewRequest("GET", "/", nil)
	w := &sink{h: http.Header{}}
	b.Run("execute", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p.Execute(r.Context(), func(context.Context) error { //nolint:errcheck
				okHandler.ServeHTTP(w, r)
				return nil
			})
		}
	})
	b.Run("middleware", func(b *testing.B) {
		h := bulwarkhttp.Middleware(p)(okHandler)
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(w, r)
		}
	})
}

func BenchmarkTransport(b *testing.B) {
	req, _ := http.NewRequest("GET", "http://upstream/", nil)
	run := func(b *testing.B, rt http.RoundTripper) {
		b.ReportAllocs()
		for b.Loop() {
			resp, err := rt.RoundTrip(req)
			if err != nil {
				b.Fatal(err)
			}
			resp.Body.Close()
		}
	}
	b.Run("bare", func(b *testing.B) { run(b, memRT{}) })
	b.Run("retry-breaker", func(b *testing.B) { run(b, bulwarkhttp.Transport(memRT{}, admitAll())) })
}
