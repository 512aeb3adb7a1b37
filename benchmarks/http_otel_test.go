package benchmarks

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/bulwark-go/bulwark/middleware/bulwarkhttp"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// These tests show the wrapping order bulwarkhttp's doc gives with
// otelhttp itself: otelhttp outside on both sides, so that the policies'
// span events land on the request's one client or server span.

func spanEvents(s sdktrace.ReadOnlySpan) []string {
	var names []string
	for _, e := range s.Events() {
		names = append(names, e.Name)
	}
	return names
}

func TestOtelhttpClientSpanCarriesTheRetries(t *testing.T) {
	var served atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if served.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok") //nolint:errcheck
	}))
	defer srv.Close()
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))

	client := &http.Client{Transport: otelhttp.NewTransport(
		bulwarkhttp.Transport(srv.Client().Transport, retry.New(retry.WithDelay(0))),
		otelhttp.WithTracerProvider(tp))}
	resp, err := client.Get(srv.URL)
	require.NoError(t, err)
	io.Copy(io.Discard, resp.Body) //nolint:errcheck
	resp.Body.Close()              // otelhttp ends its span when the body is done

	spans := sr.Ended()
	require.Len(t, spans, 1, "one client span for the request, however many attempts")
	assert.Equal(t, trace.SpanKindClient, spans[0].SpanKind())
	assert.Equal(t, []string{"bulwark.retry", "bulwark.retry"}, spanEvents(spans[0]))
	assert.Equal(t, int32(3), served.Load())
}

func TestOtelhttpServerSpanCarriesTheRejection(t *testing.T) {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	lim := ratelimit.New(1e-9, 1) // one request, then none
	h := otelhttp.NewHandler(bulwarkhttp.Middleware(lim)(okHandler), "items", otelhttp.WithTracerProvider(tp))
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, want := range []int{200, 429} {
		resp, err := srv.Client().Get(srv.URL)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, want, resp.StatusCode)
	}
	srv.Close() // the handlers have returned: their spans have ended
	spans := sr.Ended()
	require.Len(t, spans, 2)
	assert.Equal(t, trace.SpanKindServer, spans[1].SpanKind())
	assert.Empty(t, spanEvents(spans[0]))
	assert.Equal(t, []string{"bulwark.ratelimit.rejected"}, spanEvents(spans[1]))
}

// With otelhttp outside bulwarkhttp, a request's retries are events of its
// one client span.
func Example_otelhttpOutsideBulwarkhttp() {
	var served atomic.Int32
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if served.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok") //nolint:errcheck
	}))
	defer upstream.Close()
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))

	client := &http.Client{Transport: otelhttp.NewTransport( // outside
		bulwarkhttp.Transport(upstream.Client().Transport, retry.New(retry.WithDelay(0))), // inside
		otelhttp.WithTracerProvider(tp))}
	resp, err := client.Get(upstream.URL)
	if err != nil {
		panic(err)
	}
	io.Copy(io.Discard, resp.Body) //nolint:errcheck
	resp.Body.Close()

	for _, s := range sr.Ended() {
		fmt.Println(s.SpanKind(), s.Name(), spanEvents(s))
	}
	// Output: client HTTP GET [bulwark.retry]
}
