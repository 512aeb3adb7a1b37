package benchmarks

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/middleware/bulwarkhttp"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/timeout"
)

// bulwarkTransport is the transport as its doc recommends: retry and
// breaker in the policy, the per-attempt timeout the transport's own.
func bulwarkTransport(base http.RoundTripper) http.RoundTripper {
	return bulwarkhttp.Transport(base, bulwark.New(retry.New(), breaker.New()),
		bulwarkhttp.WithAttemptTimeout(httpAttemptTimeout))
}

// bulwarkTransportTimeoutPolicy has the timeout as a timeout.Timeout inside
// the policy: the transport then bridges its context onto each attempt's
// request, so that the body outlives it.
func bulwarkTransportTimeoutPolicy(base http.RoundTripper) http.RoundTripper {
	return bulwarkhttp.Transport(base, bulwark.New(retry.New(), breaker.New(), timeout.New(httpAttemptTimeout)))
}

// bulwarkStandardTransport is StandardTransport: total timeout, retry, a
// breaker per host, attempt timeout.
func bulwarkStandardTransport(base http.RoundTripper) http.RoundTripper {
	return bulwarkhttp.StandardTransport(base)
}

var errServerStatus = errors.New("server error")

// bulwarkByHandTransport runs the same policies by hand around the same
// RoundTripper, as a careful user would without the transport: a closure
// per request, the request's copy per attempt, failures read from the
// status. It does none of the transport's work (which requests may be
// repeated, bodies replayed, drained, kept alive past the timeout,
// Retry-After, the last response on exhaustion).
func bulwarkByHandTransport(base http.RoundTripper) http.RoundTripper {
	p := bulwark.New(retry.New(), breaker.New(), timeout.New(httpAttemptTimeout))
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		var resp *http.Response
		err := p.Execute(req.Context(), func(ctx context.Context) error {
			r, err := base.RoundTrip(req.WithContext(ctx))
			if err != nil {
				return err
			}
			if r.StatusCode >= 500 {
				io.Copy(io.Discard, r.Body) //nolint:errcheck
				r.Body.Close()
				return errServerStatus
			}
			resp = r
			return nil
		})
		return resp, err
	})
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func admitAllPolicies() bulwark.Policy {
	return bulwark.New(breaker.New(), ratelimit.New(1e12, 1<<30))
}

func bulwarkMiddleware() http.Handler { return bulwarkhttp.Middleware(admitAllPolicies())(okHandler) }

// bulwarkExecuteHandler is the same policies' Execute around the handler,
// by hand: what the middleware is judged against.
func bulwarkExecuteHandler() http.Handler {
	p := admitAllPolicies()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.Execute(r.Context(), func(context.Context) error { //nolint:errcheck
			okHandler.ServeHTTP(w, r)
			return nil
		})
	})
}
