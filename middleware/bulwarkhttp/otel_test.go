package bulwarkhttp_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/middleware/bulwarkhttp"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// spanning does what otelhttp.NewTransport does with a request: it starts
// a client span and sends the request under it. otelhttp itself is shown
// in the benchmarks module, which may depend on it.
type spanning struct {
	tracer trace.Tracer
	next   http.RoundTripper
}

func (s spanning) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx, span := s.tracer.Start(r.Context(), "HTTP GET", trace.WithSpanKind(trace.SpanKindClient))
	defer span.End()
	return s.next.RoundTrip(r.WithContext(ctx))
}

func eventNames(s sdktrace.ReadOnlySpan) []string {
	var names []string
	for _, e := range s.Events() {
		names = append(names, e.Name)
	}
	return names
}

func TestTransportEventsLandOnTheClientSpan(t *testing.T) {
	srv := httptest.NewServer(&flaky{fails: 2})
	defer srv.Close()
	sr, tp := otest.Tracing()
	// otelhttp outside, bulwarkhttp inside: one span for the request.
	rt := spanning{tracer: tp.Tracer("test"), next: bulwarkhttp.Transport(srv.Client().Transport, noWait())}
	req, _ := http.NewRequest("GET", srv.URL, nil)
	resp, _ := roundTrip(t, rt, req)
	assert.Equal(t, 200, resp.StatusCode)
	spans := sr.Ended()
	require.Len(t, spans, 1)
	assert.Equal(t, trace.SpanKindClient, spans[0].SpanKind())
	assert.Equal(t, []string{"bulwark.retry", "bulwark.retry"}, eventNames(spans[0]))
}

func TestTransportInsideOutEventsLandOnTheCallersSpan(t *testing.T) {
	srv := httptest.NewServer(&flaky{fails: 2})
	defer srv.Close()
	sr, tp := otest.Tracing()
	// bulwarkhttp outside: each attempt gets a client span of its own, and
	// the events go to the caller's span.
	rt := bulwarkhttp.Transport(spanning{tracer: tp.Tracer("test"), next: srv.Client().Transport}, noWait())
	ctx, parent := tp.Tracer("test").Start(t.Context(), "caller")
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	roundTrip(t, rt, req)
	parent.End()
	spans := sr.Ended()
	require.Len(t, spans, 4, "three attempts and the caller")
	assert.Empty(t, eventNames(spans[0]))
	assert.Equal(t, []string{"bulwark.retry", "bulwark.retry"}, eventNames(spans[3]))
}

func TestMiddlewareEventsLandOnTheServerSpan(t *testing.T) {
	sr, tp := otest.Tracing()
	lim := ratelimit.New(1e-9, 1)
	h := bulwarkhttp.Middleware(lim)(okHandler)
	// otelhttp.NewHandler outside: the server span is in the request's
	// context when the policy runs.
	traced := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := tp.Tracer("test").Start(r.Context(), "GET /", trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
	for range 2 {
		traced.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	}
	spans := sr.Ended()
	require.Len(t, spans, 2)
	assert.Empty(t, eventNames(spans[0]))
	assert.Equal(t, []string{"bulwark.ratelimit.rejected"}, eventNames(spans[1]))
}
