package bulwarkhttp_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/middleware/bulwarkhttp"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/timeout"
	"github.com/stretchr/testify/assert"
)

// sink is a ResponseWriter that keeps nothing, so that allocation counts
// are those of what is measured.
type sink struct{ h http.Header }

func (s *sink) Header() http.Header         { return s.h }
func (s *sink) Write(p []byte) (int, error) { return len(p), nil }
func (s *sink) WriteHeader(int)             {}
func (s *sink) Flush()                      {}

var okBody = []byte("ok")

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.WriteHeader(http.StatusOK)
	w.Write(okBody) //nolint:errcheck
})

func admitAll() bulwark.Policy {
	return bulwark.New(breaker.New(), ratelimit.New(1e12, 1<<30))
}

func TestMiddlewareAllocatesNoMoreThanExecute(t *testing.T) {
	p := admitAll()
	w := &sink{h: http.Header{}}
	r := httptest.NewRequest("GET", "/", nil)
	mw := bulwarkhttp.Middleware(p)(okHandler)
	byHand := func() {
		p.Execute(r.Context(), func(context.Context) error { //nolint:errcheck
			okHandler.ServeHTTP(w, r)
			return nil
		})
	}
	hand := testing.AllocsPerRun(1000, byHand)
	got := testing.AllocsPerRun(1000, func() { mw.ServeHTTP(w, r) })
	t.Logf("allocations per request: middleware %v, the policies' Execute around the handler %v", got, hand)
	assert.Equal(t, hand, got)
	assert.Equal(t, 1.0, got, "the request's state, nothing else")
}

func TestMiddlewareStateIs64Bytes(t *testing.T) {
	p := admitAll()
	w := &sink{h: http.Header{}}
	r := httptest.NewRequest("GET", "/", nil)
	mw := bulwarkhttp.Middleware(p)(okHandler)
	mw.ServeHTTP(w, r)
	const n = 10000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range n {
		mw.ServeHTTP(w, r)
	}
	runtime.ReadMemStats(&after)
	perRequest := float64(after.TotalAlloc-before.TotalAlloc) / n
	t.Logf("bytes allocated per request: %.1f", perRequest)
	assert.InDelta(t, 64, perRequest, 1, "as the package doc says")
}

func TestMiddlewareRejectionAllocations(t *testing.T) {
	b := breaker.New()
	b.Isolate()
	w := &sink{h: http.Header{}}
	r := httptest.NewRequest("GET", "/", nil)
	mw := bulwarkhttp.Middleware(b)(okHandler)
	got := testing.AllocsPerRun(1000, func() {
		clear(w.h)
		mw.ServeHTTP(w, r)
	})
	t.Logf("allocations per rejected request: %v", got)
	assert.LessOrEqual(t, got, 6.0)
}

// memRT is an in-memory RoundTripper: a fresh 200 response per request.
type memRT struct{}

func (memRT) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
}

func TestTransportAllocations(t *testing.T) {
	req, _ := http.NewRequest("GET", "http://upstream/", nil)
	measure := func(rt http.RoundTripper) float64 {
		return testing.AllocsPerRun(1000, func() {
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		})
	}
	retryBreaker := func() bulwark.Policy { return bulwark.New(retry.New(), breaker.New()) }
	bare := measure(memRT{})
	plain := measure(bulwarkhttp.Transport(memRT{}, retryBreaker()))
	attempt := measure(bulwarkhttp.Transport(memRT{}, retryBreaker(), bulwarkhttp.WithAttemptTimeout(time.Second)))
	inner := measure(bulwarkhttp.Transport(memRT{}, bulwark.New(retry.New(), breaker.New(), timeout.New(time.Second))))
	standard := measure(bulwarkhttp.StandardTransport(memRT{}))

	p := bulwark.New(retry.New(), breaker.New(), timeout.New(time.Second))
	byHand := testing.AllocsPerRun(1000, func() {
		var resp *http.Response
		p.Execute(req.Context(), func(ctx context.Context) error { //nolint:errcheck
			r, err := memRT{}.RoundTrip(req.WithContext(ctx))
			if err != nil {
				return err
			}
			resp = r
			return nil
		})
		resp.Body.Close()
	})
	t.Logf("allocations per request: bare %v; by hand (retry, breaker, timeout.Timeout) %v; transport: retry+breaker %v, "+
		"+WithAttemptTimeout %v, +timeout.Timeout inside %v, StandardTransport %v", bare, byHand, plain, attempt, inner, standard)
	// The figures of the package doc.
	assert.Equal(t, bare+3, plain, "the call's state and the context that stops retries")
	assert.Equal(t, bare+7, attempt, "and the request's context, its timer, the request's copy")
	assert.Equal(t, bare+18, inner, "a timeout.Timeout inside, bridged")
	assert.Equal(t, bare+9, standard)
	assert.LessOrEqual(t, attempt, byHand+2, "with its own per-attempt timeout, within two of the hand-written pipeline")
}

func TestTransportBodyReadersKeepWorking(t *testing.T) {
	// A body is handed back as it is when nothing is to be released on
	// Close: an io.WriterTo on it stays reachable.
	rt := bulwarkhttp.Transport(roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("x")), Request: r}, nil
	}), retry.New())
	req, _ := http.NewRequest("GET", "http://upstream/", nil)
	resp, err := rt.RoundTrip(req)
	assert.NoError(t, err)
	_, ok := resp.Body.(io.WriterTo)
	assert.True(t, ok)
}
