package bulwarkhttp_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/middleware/bulwarkhttp"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/retry"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// A server that limits each client address to bursts of 2 and answers
// the rest with 429 and Retry-After.
func ExampleMiddleware() {
	perClient := ratelimit.NewKeyed(1, 2, bulwarkhttp.KeyFromContext)
	mw := bulwarkhttp.Middleware(bulwark.New(breaker.New(), perClient),
		bulwarkhttp.WithKey(bulwarkhttp.ClientIP()))
	srv := httptest.NewServer(mw(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "hello")
	})))
	defer srv.Close()

	for range 3 {
		resp, err := srv.Client().Get(srv.URL)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%d %q Retry-After=%q\n", resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
	// Output:
	// 200 "hello" Retry-After=""
	// 200 "hello" Retry-After=""
	// 429 "Too Many Requests\n" Retry-After="1"
}

// A client that retries a flaky upstream: two 503s, then the answer.
func ExampleTransport() {
	var served atomic.Int32
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if served.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "finally")
	}))
	defer upstream.Close()

	client := &http.Client{Transport: bulwarkhttp.Transport(upstream.Client().Transport,
		retry.New(retry.WithMaxAttempts(3), retry.WithDelay(10*time.Millisecond)),
		bulwarkhttp.WithAttemptTimeout(time.Second),
		bulwarkhttp.WithHostPolicy(100, func(string) bulwark.Policy { return breaker.New() }))}
	resp, err := client.Get(upstream.URL)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body), "after", served.Load(), "attempts")
	// Output: 200 finally after 3 attempts
}

// When retries end on a status, the caller gets that response, body and
// all, not an error.
func ExampleTransport_exhausted() {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "down for maintenance")
	}))
	defer upstream.Close()

	rt := bulwarkhttp.Transport(upstream.Client().Transport, retry.New(retry.WithDelay(0)))
	req, _ := http.NewRequest("GET", upstream.URL, nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output: 503 down for maintenance
}

// The standard client, every setting chosen (see StandardTransport).
func ExampleNewClient() {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer upstream.Close()

	client := bulwarkhttp.NewClient(upstream.Client().Transport)
	resp, err := client.Get(upstream.URL)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	fmt.Println(resp.StatusCode)
	// Output: 200
}

// Behind a load balancer at 10.0.0.0/8: the client is the right-most hop
// that is not a trusted proxy, whatever the client wrote to the left of it.
func ExampleClientIP() {
	key := bulwarkhttp.ClientIP("10.0.0.0/8")
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.2:41000"                                   // the load balancer
	r.Header.Set("X-Forwarded-For", "1.1.1.1, 203.0.113.7, 10.0.0.9") // spoofed, client, inner proxy
	fmt.Println(key(r))

	r.RemoteAddr = "203.0.113.8:5000" // not a trusted proxy: its header is not believed
	fmt.Println(key(r))
	// Output:
	// 203.0.113.7
	// 203.0.113.8
}

// The IETF RateLimit fields on every response.
func ExampleWithRateLimitHeaders() {
	lim := ratelimit.New(10, 20) // 10 a second, bursts of 20
	h := bulwarkhttp.Middleware(lim, bulwarkhttp.WithRateLimitHeaders("api", lim))(
		http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	fmt.Println("RateLimit-Policy:", w.Header().Get("RateLimit-Policy"))
	fmt.Println("RateLimit:", w.Header().Get("RateLimit"))
	// Output:
	// RateLimit-Policy: "api";q=20;w=2
	// RateLimit: "api";r=19;t=1
}

// A breaker per route: a failing route does not close the others.
func ExampleNewPerKey() {
	perRoute := bulwarkhttp.NewPerKey(100, func(route string) bulwark.Policy {
		return breaker.New(breaker.WithConsecutiveFailures(1), breaker.WithOpenDuration(time.Minute))
	})
	mw := bulwarkhttp.Middleware(perRoute, bulwarkhttp.WithKey(bulwarkhttp.PatternKey(nil)))
	mux := http.NewServeMux()
	mux.Handle("GET /broken", mw(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	})))
	mux.Handle("GET /fine", mw(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))

	for _, path := range []string{"/broken", "/broken", "/fine"} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		fmt.Println(path, w.Code)
	}
	// Output:
	// /broken 500
	// /broken 503
	// /fine 200
}

// The policies' span events land on the span in the request's context:
// wrap otelhttp outside bulwarkhttp, otelhttp.NewTransport(Transport(...)),
// and they land on its one client span. clientSpan stands for
// otelhttp.NewTransport here, which this module does not depend on (the
// benchmarks module shows otelhttp itself).
func ExampleTransport_openTelemetry() {
	var served atomic.Int32
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if served.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer upstream.Close()
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))

	client := &http.Client{Transport: clientSpan{tp.Tracer("example"), // outside
		bulwarkhttp.Transport(upstream.Client().Transport, retry.New(retry.WithDelay(0)))}} // inside
	resp, err := client.Get(upstream.URL)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	for _, s := range sr.Ended() {
		for _, e := range s.Events() {
			fmt.Println(s.Name(), e.Name)
		}
	}
	// Output: HTTP GET bulwark.retry
}

// clientSpan starts a client span around each request, as otelhttp does.
type clientSpan struct {
	tracer trace.Tracer
	next   http.RoundTripper
}

func (c clientSpan) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx, span := c.tracer.Start(r.Context(), "HTTP "+r.Method, trace.WithSpanKind(trace.SpanKindClient))
	defer span.End()
	return c.next.RoundTrip(r.WithContext(ctx))
}
