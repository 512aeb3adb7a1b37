package bulwarkhttp_test

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/middleware/bulwarkhttp"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/stretchr/testify/assert"
	"golang.org/x/time/rate"
)

func serve(h http.Handler, remote string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/", nil)
	if remote != "" {
		r.RemoteAddr = remote
	}
	h.ServeHTTP(w, r)
	return w
}

func TestRateLimitHeadersTokenBucket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lim := ratelimit.New(2, 4) // 2 a second, bursts of 4: a drained bucket refills in 2s
		h := bulwarkhttp.Middleware(lim, bulwarkhttp.WithRateLimitHeaders("api", lim))(okHandler)
		type fields struct{ policy, state string }
		var got []fields
		for range 5 {
			w := serve(h, "")
			got = append(got, fields{w.Header().Get("RateLimit-Policy"), w.Header().Get("RateLimit")})
		}
		assert.Equal(t, []fields{
			{`"api";q=4;w=2`, `"api";r=3;t=1`},
			{`"api";q=4;w=2`, `"api";r=2;t=1`},
			{`"api";q=4;w=2`, `"api";r=1;t=1`},
			{`"api";q=4;w=2`, `"api";r=0;t=1`},
			{`"api";q=4;w=2`, `"api";r=0;t=1`}, // the rejection carries them too
		}, got)

		time.Sleep(10 * time.Second) // full again
		w := serve(h, "")
		assert.Equal(t, `"api";r=3;t=1`, w.Header().Get("RateLimit"))
		time.Sleep(10 * time.Second)
		// A bucket that is full says nothing of when more comes.
		w = serve(bulwarkhttp.Middleware(breaker.New(), bulwarkhttp.WithRateLimitHeaders("api", lim))(okHandler), "")
		assert.Equal(t, `"api";r=4`, w.Header().Get("RateLimit"))
	})
}

func TestRateLimitHeadersForASilentHandler(t *testing.T) {
	lim := ratelimit.New(1, 5)
	h := bulwarkhttp.Middleware(lim, bulwarkhttp.WithRateLimitHeaders("api", lim))(
		http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	w := serve(h, "")
	assert.Equal(t, 200, w.Code)
	assert.Equal(t, `"api";r=4;t=1`, w.Header().Get("RateLimit"))
}

func TestRateLimitHeadersOnRejection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lim := ratelimit.New(0.1, 1) // one, then one every 10s
		h := bulwarkhttp.Middleware(lim, bulwarkhttp.WithRateLimitHeaders("slow", lim))(okHandler)
		serve(h, "")
		time.Sleep(2500 * time.Millisecond)
		w := serve(h, "")
		assert.Equal(t, 429, w.Code)
		assert.Equal(t, "8", w.Header().Get("Retry-After"))
		assert.Equal(t, `"slow";q=1;w=10`, w.Header().Get("RateLimit-Policy"))
		assert.Equal(t, `"slow";r=0;t=8`, w.Header().Get("RateLimit"), "Retry-After is no earlier than the reset")
	})
}

func TestRateLimitHeadersKeyed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lim := ratelimit.NewKeyed(1, 3, bulwarkhttp.KeyFromContext)
		h := bulwarkhttp.Middleware(lim,
			bulwarkhttp.WithKey(bulwarkhttp.ClientIP()),
			bulwarkhttp.WithRateLimitHeaders("per-client", lim))(okHandler)
		assert.Equal(t, `"per-client";r=2;t=1`, serve(h, "198.51.100.1:1").Header().Get("RateLimit"))
		assert.Equal(t, `"per-client";r=1;t=1`, serve(h, "198.51.100.1:1").Header().Get("RateLimit"))
		w := serve(h, "198.51.100.2:1")
		assert.Equal(t, `"per-client";r=2;t=1`, w.Header().Get("RateLimit"), "each client its own bucket")
		assert.Equal(t, `"per-client";q=3;w=3`, w.Header().Get("RateLimit-Policy"))
		assert.NotContains(t, w.Header().Get("RateLimit"), "pk=", "no partition key: the client's address stays private")
	})
}

func TestRateLimitHeadersSlidingWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lim := ratelimit.NewSlidingWindow(10, time.Minute)
		h := bulwarkhttp.Middleware(lim, bulwarkhttp.WithRateLimitHeaders("minute", lim))(okHandler)
		serve(h, "")
		w := serve(h, "")
		assert.Equal(t, `"minute";q=10;w=60`, w.Header().Get("RateLimit-Policy"))
		assert.Equal(t, `"minute";r=8`, w.Header().Get("RateLimit"))
	})
}

func TestRateLimitHeadersOffByDefaultAndForUnlimited(t *testing.T) {
	lim := ratelimit.New(10, 10)
	w := serve(bulwarkhttp.Middleware(lim)(okHandler), "")
	assert.Empty(t, w.Header().Get("RateLimit"))
	assert.Empty(t, w.Header().Get("RateLimit-Policy"))

	inf := ratelimit.New(rate.Inf, 0)
	w = serve(bulwarkhttp.Middleware(inf, bulwarkhttp.WithRateLimitHeaders("none", inf))(okHandler), "")
	assert.Empty(t, w.Header().Get("RateLimit"), "no limit to tell of")
}

// +Inf is no limit for ratelimit, as rate.Inf is, whatever the burst: a
// limiter of either tells of no quota.
func TestRateLimitHeadersNoneForAnyInfiniteLimit(t *testing.T) {
	for _, limit := range []rate.Limit{rate.Inf, rate.Limit(math.Inf(1))} {
		bucket := ratelimit.New(limit, 5)
		keyed := ratelimit.NewKeyed(limit, 5, func(context.Context) string { return "k" })
		for name, h := range map[string]http.Handler{
			"bucket": bulwarkhttp.Middleware(bucket, bulwarkhttp.WithRateLimitHeaders("none", bucket))(okHandler),
			"keyed": bulwarkhttp.Middleware(keyed, bulwarkhttp.WithRateLimitHeaders("none", keyed),
				bulwarkhttp.WithKey(func(*http.Request) string { return "k" }))(okHandler),
		} {
			w := serve(h, "")
			assert.Empty(t, w.Header().Get("RateLimit-Policy"), "%s at %v", name, float64(limit))
			assert.Empty(t, w.Header().Get("RateLimit"), "%s at %v", name, float64(limit))
		}
	}
}

func TestRateLimitHeadersNameIsQuoted(t *testing.T) {
	lim := ratelimit.New(1, 1)
	w := serve(bulwarkhttp.Middleware(lim, bulwarkhttp.WithRateLimitHeaders(`a"b\c`, lim))(okHandler), "")
	assert.Equal(t, `"a\"b\\c";q=1;w=1`, w.Header().Get("RateLimit-Policy"))
}

func TestRateLimitHeadersConstructionPanics(t *testing.T) {
	lim := ratelimit.New(1, 1)
	assert.PanicsWithValue(t, "bulwark/bulwarkhttp: WithRateLimitHeaders: name must not be empty", func() {
		bulwarkhttp.WithRateLimitHeaders("", lim)
	})
	assert.PanicsWithValue(t, `bulwark/bulwarkhttp: WithRateLimitHeaders: name must be printable ASCII, got "café"`, func() {
		bulwarkhttp.WithRateLimitHeaders("café", lim)
	})
	assert.PanicsWithValue(t, "bulwark/bulwarkhttp: WithRateLimitHeaders: limiter must know its quota (a *ratelimit.Limiter, *ratelimit.Keyed or *ratelimit.SlidingWindow), got *breaker.Breaker", func() {
		bulwarkhttp.WithRateLimitHeaders("x", breaker.New())
	})
	assert.PanicsWithValue(t, "bulwark/bulwarkhttp: WithRateLimitHeaders: limiter must know its quota (a *ratelimit.Limiter, *ratelimit.Keyed or *ratelimit.SlidingWindow), got <nil>", func() {
		bulwarkhttp.WithRateLimitHeaders("x", nil)
	})
	keyed := ratelimit.NewKeyed(1, 1, bulwarkhttp.KeyFromContext)
	assert.PanicsWithValue(t, "bulwark/bulwarkhttp: WithRateLimitHeaders: a keyed limiter needs WithKey, got none", func() {
		bulwarkhttp.Middleware(keyed, bulwarkhttp.WithRateLimitHeaders("x", keyed))
	})
}

var _ bulwark.Policy = (*ratelimit.Limiter)(nil)
