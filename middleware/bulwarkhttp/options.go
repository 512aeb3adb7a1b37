package bulwarkhttp

import (
	"fmt"
	"net/http"
	"time"

	"github.com/bulwark-go/bulwark"
)

// Option configures Middleware or Transport. Each option applies to one of
// them, and its doc says which; giving an option to the other is a
// configuration error, reported by a panic when the middleware or the
// transport is built. Nil options are ignored.
type Option interface{ apply(*config) }

// side says what an option applies to.
type side uint8

const (
	server side = 1 << iota
	client
)

func (s side) String() string {
	if s == server {
		return "Middleware"
	}
	return "Transport"
}

type option struct {
	name string
	side side
	set  func(*config)
}

func (o option) apply(c *config) {
	if o.side&c.side == 0 {
		panic(fmt.Sprintf("bulwark/bulwarkhttp: %s: applies to %v, got it in %v", o.name, o.side, c.side))
	}
	o.set(c)
}

// config holds the settings of one Middleware or one Transport.
type config struct {
	side side

	// Middleware.
	failureStatus func(int) bool
	timeoutStatus int
	reject        func(http.ResponseWriter, *http.Request, int, error)
	key           func(*http.Request) string
	quota         *quotaHeaders

	// Transport.
	classify       func(*http.Response, error) Class
	idempotent     func(*http.Request) bool
	maxRetryAfter  time.Duration
	attemptTimeout time.Duration
	totalTimeout   time.Duration
	hostMax        int
	hostPolicy     func(host string) bulwark.Policy
}

// Defaults stated in the options' docs.
const (
	defaultMaxRetryAfter = 30 * time.Second
)

func newConfig(s side, opts []Option) config {
	c := config{side: s, timeoutStatus: http.StatusServiceUnavailable, maxRetryAfter: defaultMaxRetryAfter}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return c
}

func panicf(name, format string, args ...any) {
	panic(fmt.Sprintf("bulwark/bulwarkhttp: "+name+": "+format, args...))
}

// WithFailureStatus decides which response statuses written by the handler
// are failures of the handler for the policy (a breaker counts them, an
// adaptive bulkhead sees a drop); every other status is a success. The
// response reaches the client unchanged either way. Default: a status of
// 500 or more. Middleware only. It panics if f is nil.
func WithFailureStatus(f func(status int) bool) Option {
	if f == nil {
		panicf("WithFailureStatus", "predicate must not be nil")
	}
	return option{"WithFailureStatus", server, func(c *config) { c.failureStatus = f }}
}

// WithTimeoutStatus is the status written when the policy timed out
// (timeout.ErrTimeout, or any error matching context.DeadlineExceeded)
// before the handler wrote anything. Default: 503 Service Unavailable
// (504 Gateway Timeout suits a server that proxies). Middleware only. It
// panics if status is not in [500, 599].
func WithTimeoutStatus(status int) Option {
	if status < 500 || status > 599 {
		panicf("WithTimeoutStatus", "status must be in [500, 599], got %d", status)
	}
	return option{"WithTimeoutStatus", server, func(c *config) { c.timeoutStatus = status }}
}

// WithRejectionWriter replaces the writer of the responses the middleware
// makes itself: when the policy rejected the request (429 for
// ratelimit.ErrLimited, 503 for any other bulwark.ErrRejected), timed out
// before the handler wrote anything (503, or WithTimeoutStatus), or failed
// with any other error before anything was written (500). write receives
// that status and the policy's error; the Retry-After and RateLimit
// headers are already set in w.Header(), and it may change them. It must
// write the response (with status). The default writes the status and its
// text (http.StatusText) as text/plain, never the error's text, which may
// tell a client about the server's insides. Middleware only. It panics if
// write is nil.
func WithRejectionWriter(write func(w http.ResponseWriter, r *http.Request, status int, err error)) Option {
	if write == nil {
		panicf("WithRejectionWriter", "writer must not be nil")
	}
	return option{"WithRejectionWriter", server, func(c *config) { c.reject = write }}
}

// WithKey computes the key of each request (ClientIP, HeaderKey,
// PatternKey or a function of your own). The key reaches the policies and
// the handler through the request's context, where KeyFromContext reads
// it: give KeyFromContext to ratelimit.NewKeyed for per-key limits, or
// build a policy per key with NewPerKey. Default: no key. Middleware only.
// It panics if key is nil.
func WithKey(key func(r *http.Request) string) Option {
	if key == nil {
		panicf("WithKey", "key function must not be nil")
	}
	return option{"WithKey", server, func(c *config) { c.key = key }}
}

// WithClassifier decides what each attempt's response or error means for
// the policies (see Class). Default: DefaultClassifier. Transport only. It
// panics if f is nil.
func WithClassifier(f func(resp *http.Response, err error) Class) Option {
	if f == nil {
		panicf("WithClassifier", "classifier must not be nil")
	}
	return option{"WithClassifier", client, func(c *config) { c.classify = f }}
}

// WithIdempotent decides which requests may be sent more than once.
// Default: the idempotent methods of RFC 9110 (GET, HEAD, OPTIONS, TRACE,
// PUT, DELETE), and any request with an Idempotency-Key or
// X-Idempotency-Key header, as net/http's own Transport judges. A request
// that may not be sent again is sent once: after it went out, its failure
// is returned without retry. Transport only. It panics if f is nil.
func WithIdempotent(f func(r *http.Request) bool) Option {
	if f == nil {
		panicf("WithIdempotent", "predicate must not be nil")
	}
	return option{"WithIdempotent", client, func(c *config) { c.idempotent = f }}
}

// WithMaxRetryAfter caps the wait a server asks for with Retry-After on a
// 429 or a 503: a longer hint becomes d. Without a deadline, retry sleeps
// whatever hint it is given, so an uncapped "Retry-After: 86400" would hold
// the call for a day; with a deadline, retry gives up at once on a hint
// that does not fit, and the response is returned. Default: 30 seconds.
// Transport only. It panics if d <= 0.
func WithMaxRetryAfter(d time.Duration) Option {
	if d <= 0 {
		panicf("WithMaxRetryAfter", "duration must be > 0, got %v", d)
	}
	return option{"WithMaxRetryAfter", client, func(c *config) { c.maxRetryAfter = d }}
}

// WithAttemptTimeout bounds each attempt, from the moment it is sent to the
// arrival of the response's headers, by d. It never bounds the body: the
// returned response stays readable until the caller closes it. An attempt
// that runs out of time fails with an error that matches
// timeout.ErrTimeout (a failure for a breaker, retried by retry). It costs
// a timer per attempt and a context for the request, where a
// timeout.Timeout inside the policy costs a context and a timer per
// attempt and the bridge that keeps the body alive past them (see
// "Client: what the caller gets" in the package doc for the figures).
// Default: none. Transport only. It panics if d <= 0.
func WithAttemptTimeout(d time.Duration) Option {
	if d <= 0 {
		panicf("WithAttemptTimeout", "duration must be > 0, got %v", d)
	}
	return option{"WithAttemptTimeout", client, func(c *config) { c.attemptTimeout = d }}
}

// WithHostPolicy runs each attempt, inside the transport's policy, through
// a policy of its own for the request's host (URL.Host), built by
// newPolicy on the host's first request: a breaker per host, so that one
// bad upstream does not open the breaker for the others. At most maxHosts
// policies are kept; past that, the least recently used is dropped (and,
// being unreferenced, collected). Default: none. Transport only. It panics
// if maxHosts < 1 or newPolicy is nil.
func WithHostPolicy(maxHosts int, newPolicy func(host string) bulwark.Policy) Option {
	if maxHosts < 1 {
		panicf("WithHostPolicy", "maxHosts must be >= 1, got %d", maxHosts)
	}
	if newPolicy == nil {
		panicf("WithHostPolicy", "factory must not be nil")
	}
	return option{"WithHostPolicy", client, func(c *config) { c.hostMax, c.hostPolicy = maxHosts, newPolicy }}
}

// WithTotalTimeout bounds each request, every attempt and every wait
// between attempts included, from the moment RoundTrip is called to the
// arrival of the headers of the response it returns, by d. It never bounds
// the body. The policies see it as their context's deadline (a retry gives
// up at once on a wait that does not fit), and, when it passes, as their
// context's end: the caller's time has run out, which is no failure of
// the dependency, so a breaker does not count it. RoundTrip then returns
// an error that matches timeout.ErrTimeout and wraps the policy's. It
// costs a timer per request, where a timeout.Timeout around the policy
// costs a context and its timer, and the bridge that keeps the body alive
// past it on every attempt. Default: none (the request's context still
// applies). Transport only. It panics if d <= 0.
func WithTotalTimeout(d time.Duration) Option {
	if d <= 0 {
		panicf("WithTotalTimeout", "duration must be > 0, got %v", d)
	}
	return option{"WithTotalTimeout", client, func(c *config) { c.totalTimeout = d }}
}
