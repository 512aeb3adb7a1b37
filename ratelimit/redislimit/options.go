package redislimit

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/clock"
	"github.com/bulwark-go/bulwark/internal/policyopt"
	"go.opentelemetry.io/otel/metric"
)

// Option configures a Limiter.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// FailMode says how a Limiter decides while Redis cannot be asked.
type FailMode uint8

const (
	// FailLocal decides with a token bucket in the instance, at the
	// share of the limit and burst that WithLocalShare gives (all of it
	// by default), per key. The default.
	FailLocal FailMode = iota + 1
	// FailOpen admits every call.
	FailOpen
	// FailClosed rejects every call, with an error that matches
	// ratelimit.ErrLimited and wraps Redis's error.
	FailClosed
)

var failModeNames = [...]string{FailLocal: "local", FailOpen: "open", FailClosed: "closed"}

// String returns "local", "open" or "closed".
func (m FailMode) String() string {
	if int(m) < len(failModeNames) && failModeNames[m] != "" {
		return failModeNames[m]
	}
	return "unknown"
}

type config struct {
	key     func(context.Context) string
	prefix  string
	mode    FailMode
	share   float64
	timeout time.Duration
	lease   int
	tel     policyopt.Telemetry

	lifetime time.Duration // of a lease
	clock    clock.Clock   // of the leases
}

const (
	// DefaultPrefix starts the name of every key the limiter writes.
	DefaultPrefix = "bulwark:ratelimit:"
	// DefaultTimeout bounds one decision's Redis round trip.
	DefaultTimeout = 50 * time.Millisecond
)

// leaseLifetime is how long leased tokens may be spent.
const leaseLifetime = time.Second

// withLeaseLifetime and withClock replace the lifetime of leases and the
// clock that times them, for tests.
func withLeaseLifetime(d time.Duration) Option {
	return optionFunc(func(c *config) { c.lifetime = d })
}

func withClock(cl clock.Clock) Option { return optionFunc(func(c *config) { c.clock = cl }) }

func panicf(option, format string, args ...any) {
	panic(fmt.Sprintf("bulwark/redislimit: "+option+": "+format, args...))
}

// WithKey makes each call's key, read from its context by key (a tenant,
// a user, a route), select a bucket of its own in Redis. Keys are escaped
// (or hashed when long) before they reach Redis, so no key can carry
// Redis syntax or a Cluster hash tag of its own, and each bucket's Redis
// key expires once the bucket is full again, so the keys in Redis are
// those used within a burst's refill time. Default: one bucket shared by
// every call. It panics if key is nil.
func WithKey(key func(ctx context.Context) string) Option {
	if key == nil {
		panicf("WithKey", "key function must not be nil")
	}
	return optionFunc(func(c *config) { c.key = key })
}

// WithPrefix starts the Redis key of every bucket with prefix (a bucket's
// key is prefix + "{" + escaped key + "}", the braces a Redis Cluster hash
// tag). Limiters that share a prefix and a key share a bucket, so give
// each limit a prefix of its own. Default: "bulwark:ratelimit:". It panics
// if prefix is empty.
func WithPrefix(prefix string) Option {
	if prefix == "" {
		panicf("WithPrefix", "prefix must not be empty")
	}
	return optionFunc(func(c *config) { c.prefix = prefix })
}

// WithFailMode says how the limiter decides while Redis cannot be asked:
// when a command fails or does not answer within WithTimeout. Default:
// FailLocal. It panics for a mode other than FailLocal, FailOpen and
// FailClosed.
func WithFailMode(m FailMode) Option {
	if m != FailLocal && m != FailOpen && m != FailClosed {
		panicf("WithFailMode", "mode must be FailLocal, FailOpen or FailClosed, got %d", m)
	}
	return optionFunc(func(c *config) { c.mode = m })
}

// WithLocalShare is the share of the limit and of the burst that each
// instance's local bucket allows under FailLocal: with n instances, 1/n
// keeps the fleet near the global limit while Redis is away. Default: 1
// (each instance alone stays within the limit; the fleet may admit up to n
// times it). It panics unless 0 < share <= 1.
func WithLocalShare(share float64) Option {
	if math.IsNaN(share) || share <= 0 || share > 1 {
		panicf("WithLocalShare", "share must be in (0, 1], got %v", share)
	}
	return optionFunc(func(c *config) { c.share = share })
}

// WithTimeout bounds the Redis round trip of one decision; a decision is
// also bounded by the caller's deadline. A round trip that does not end in
// time (by either) counts as Redis being unavailable: the fail mode decides, and
// while it does, one call per two timeouts asks Redis again. Default:
// 50ms. It panics if d <= 0.
func WithTimeout(d time.Duration) Option {
	if d <= 0 {
		panicf("WithTimeout", "timeout must be > 0, got %v", d)
	}
	return optionFunc(func(c *config) { c.timeout = d })
}

// WithLease makes the limiter take up to L = min(n, burst, limit × 1s)
// tokens from Redis in one round trip (what the bucket holds, if fewer)
// and spend them in the instance, which divides the Redis commands per
// decision by up to L. Leased tokens not spent within one second expire.
// The price is accuracy: over any interval of length t the fleet admits
// at most limit × t + burst + instances × L calls, since each instance
// may hold up to a lease it took before the interval. Default: off (one
// round trip per decision). It panics if n < 1.
func WithLease(n int) Option {
	if n < 1 {
		panicf("WithLease", "lease must be at least 1, got %d", n)
	}
	return optionFunc(func(c *config) { c.lease = n })
}

// WithName names the limiter in its events and metrics
// (bulwark.policy.name). Default: unnamed. It panics if name is empty.
func WithName(name string) Option {
	name = policyopt.Name("redislimit", name)
	return optionFunc(func(c *config) { c.tel.Name = name })
}

// WithMeterProvider records the limiter's events, its count of rejections
// and its degraded gauge through mp. Default: the global provider (and,
// for events, the pipeline's if it has one). It panics if mp is nil.
func WithMeterProvider(mp metric.MeterProvider) Option {
	mp = policyopt.MeterProvider("redislimit", mp)
	return optionFunc(func(c *config) { c.tel.MeterProvider = mp })
}

// WithObserver adds an observer of the limiter's events: rejections,
// EventDegraded and EventRecovered. It is never called with a lock of the
// limiter held, so it may call the limiter. Default: none. It panics if o
// is nil.
func WithObserver(o bulwark.Observer) Option {
	o = policyopt.Observer("redislimit", o)
	return optionFunc(func(c *config) { c.tel.Observers = append(c.tel.Observers, o) })
}

func newConfig(opts []Option) config {
	c := config{prefix: DefaultPrefix, mode: FailLocal, share: 1, timeout: DefaultTimeout,
		lifetime: leaseLifetime, clock: clock.Real}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return c
}
