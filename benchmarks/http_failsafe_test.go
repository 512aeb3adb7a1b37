package benchmarks

import (
	"net/http"
	"time"

	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/failsafehttp"
	"github.com/failsafe-go/failsafe-go/ratelimiter"
	"github.com/failsafe-go/failsafe-go/timeout"
)

// failsafeTransport is failsafehttp's RoundTripper with its HTTP retry
// policy (3 attempts), a breaker and a timeout, outermost first.
func failsafeTransport(base http.RoundTripper) http.RoundTripper {
	return failsafehttp.NewRoundTripper(base,
		failsafehttp.NewRetryPolicyBuilder().WithMaxAttempts(3).Build(),
		circuitbreaker.NewWithDefaults[*http.Response](),
		timeout.New[*http.Response](httpAttemptTimeout))
}

// failsafeMiddleware is failsafehttp's handler with a breaker and a rate
// limiter that admit everything.
func failsafeMiddleware() http.Handler {
	return failsafehttp.NewHandler(okHandler,
		circuitbreaker.NewWithDefaults[*http.Response](),
		ratelimiter.NewSmooth[*http.Response](100_000_000, time.Second)) // see failsafeRateLimit
}
