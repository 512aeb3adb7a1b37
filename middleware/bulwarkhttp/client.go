package bulwarkhttp

import (
	"errors"
	"net/http"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/retry"
)

// The standard client's settings, stated in StandardTransport's doc.
const (
	standardTotalTimeout   = 30 * time.Second
	standardAttemptTimeout = 10 * time.Second
	standardAttempts       = 3
	standardMaxHosts       = 1000
)

// StandardTransport returns the transport most services want around an
// upstream, in one call. Outermost first:
//
//   - a total timeout of 30s for the request, every attempt and wait
//     included, up to the response's headers (WithTotalTimeout);
//   - a retry of up to 3 attempts, exponential backoff from 100ms
//     doubling, with full jitter, a Retry-After hint (capped at 30s) taking
//     its place, giving up at once when a wait does not fit the 30s;
//   - a breaker per host (WithHostPolicy, up to 1000 hosts), opening when
//     half of the attempts of the last 30s fail, once there were 20, for 5s,
//     then letting one probe through; while it is open, a request fails at
//     once with breaker.ErrOpen, which the retry does not wait out (a
//     caller with a fallback wants it now, and the next request after the
//     5s is the probe);
//   - a timeout of 10s for each attempt, up to its response's headers
//     (WithAttemptTimeout).
//
// It classifies with DefaultClassifier and retries only idempotent
// requests (WithIdempotent). opts are applied after these settings and
// replace them (WithAttemptTimeout(2*time.Second), a WithHostPolicy of
// your own); a nil base means http.DefaultTransport. It is, with the
// breaker's options spelled out:
//
//	bulwarkhttp.Transport(base, retry.New(retry.WithMaxAttempts(3), retry.WithRetryIf(notOpen)),
//		bulwarkhttp.WithTotalTimeout(30*time.Second),
//		bulwarkhttp.WithHostPolicy(1000, newHostBreaker),
//		bulwarkhttp.WithAttemptTimeout(10*time.Second))
//
// Polly's standard resilience handler (AddStandardResilienceHandler in
// Microsoft.Extensions.Http.Resilience) has the same shape and differs as
// follows, each on purpose:
//
//   - It retries every 5xx and 408; here 500 and the 5xx other than
//     502/503/504 are failures the breaker counts but no retry repeats (a
//     500 is usually a bug that the next attempt meets again), and 4xx,
//     408 included, are answers.
//   - It makes 4 attempts with a 2s exponential base delay (2s, 4s, 8s of
//     waiting); here 3 attempts from 100ms, a delay suited to calls between
//     services. Both honour Retry-After; Polly uses it uncapped.
//   - Its breaker, one per client, opens at 10% failures over 30s with at
//     least 100 calls, for 5s. Here there is one per host, so that one bad
//     upstream behind a client does not open it for the others, and it
//     opens at 50% with at least 20 calls: per host there is less traffic,
//     and a host that fails one attempt in ten still serves nine, which the
//     retry already rides over.
//   - It puts a concurrency limiter of 1000 in front; here there is none
//     (http.Transport's MaxConnsPerHost bounds connections; add a
//     bulkhead to the policy for more).
//   - Both bound the wait for the response, not the reading of its body.
func StandardTransport(base http.RoundTripper, opts ...Option) http.RoundTripper {
	std := []Option{
		WithTotalTimeout(standardTotalTimeout),
		WithHostPolicy(standardMaxHosts, newHostBreaker),
		WithAttemptTimeout(standardAttemptTimeout),
	}
	p := retry.New(retry.WithMaxAttempts(standardAttempts), retry.WithRetryIf(notOpen))
	return Transport(base, p, append(std, opts...)...)
}

// notOpen is the standard client's retry condition: everything retry
// retries by default but an open breaker, whose wait is not worth holding
// the caller for.
func notOpen(err error) bool { return !errors.Is(err, breaker.ErrOpen) }

// NewClient returns an http.Client whose Transport is
// StandardTransport(base, opts...). It sets no Client.Timeout: the total
// timeout bounds the wait for the response, and the body is read under the
// request's context.
func NewClient(base http.RoundTripper, opts ...Option) *http.Client {
	return &http.Client{Transport: StandardTransport(base, opts...)}
}

// newHostBreaker builds the standard client's breaker for one host.
func newHostBreaker(string) bulwark.Policy {
	return breaker.New(
		breaker.WithFailureRatio(0.5),
		breaker.WithTimeWindow(30*time.Second, 10),
		breaker.WithMinimumCalls(20),
		breaker.WithOpenDuration(5*time.Second),
	)
}
