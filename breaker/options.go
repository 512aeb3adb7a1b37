package breaker

import (
	"fmt"
	"math"
	"reflect"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/clock"
	"github.com/bulwark-go/bulwark/internal/outcome"
	"github.com/bulwark-go/bulwark/internal/policyopt"
	"go.opentelemetry.io/otel/metric"
)

// Option configures a Breaker.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	consecutive   int
	ratio         float64
	countWindow   int
	timeSpan      time.Duration
	timeBuckets   int
	minCalls      int
	slowThreshold time.Duration
	slowRatio     float64

	openDuration  time.Duration
	backoffFactor float64
	backoffMax    time.Duration
	jitter        float64

	probes       int
	probeNeed    int     // successes that close half-open; 0: probes
	probeRatio   float64 // or this share of the probes; 0: unset
	halfOpenWait time.Duration

	rules outcome.Rules
	store Store

	tel   policyopt.Telemetry
	clock clock.Clock
}

const (
	defaultConsecutive  = 5
	defaultCountWindow  = 100
	defaultTimeMinCalls = 20
	defaultOpenDuration = 60 * time.Second
	defaultTimeBuckets  = 10

	// maxCountWindow bounds WithCountWindow: the ring takes a byte a call,
	// so the largest window costs 1 MiB a breaker.
	maxCountWindow = 1 << 20
)

func panicf(option, format string, args ...any) {
	panic(fmt.Sprintf("bulwark/breaker: "+option+": "+format, args...))
}

func checkRatio(option string, r float64) {
	if math.IsNaN(r) || r <= 0 || r > 1 {
		panicf(option, "ratio must be in (0, 1], got %v", r)
	}
}

// WithConsecutiveFailures opens the breaker after n failures in a row (on
// the nth). Default: 5, when no other trip rule is configured; with other
// rules, off unless given. It panics if n < 1.
func WithConsecutiveFailures(n int) Option {
	if n < 1 {
		panicf("WithConsecutiveFailures", "n must be >= 1, got %d", n)
	}
	return optionFunc(func(c *config) { c.consecutive = n })
}

// WithFailureRatio opens the breaker when failures make up at least ratio
// of the calls in the window (WithCountWindow or WithTimeWindow; a count
// window of 100 calls if neither is given), once the window holds at least
// the minimum number of calls (WithMinimumCalls). Default: off. It panics
// unless 0 < ratio <= 1.
func WithFailureRatio(ratio float64) Option {
	checkRatio("WithFailureRatio", ratio)
	return optionFunc(func(c *config) { c.ratio = ratio })
}

// WithSlowCalls opens the breaker when calls slower than threshold (longer
// than it, failed or not) make up at least ratio of the calls in the
// window, once the window holds the minimum number of calls. It makes the
// breaker read the clock twice per call. Default: off. It panics unless
// threshold > 0 and 0 < ratio <= 1.
func WithSlowCalls(threshold time.Duration, ratio float64) Option {
	if threshold <= 0 {
		panicf("WithSlowCalls", "threshold must be > 0, got %v", threshold)
	}
	checkRatio("WithSlowCalls", ratio)
	return optionFunc(func(c *config) { c.slowThreshold, c.slowRatio = threshold, ratio })
}

// WithCountWindow makes the ratio rules look at the last n calls, which
// costs a byte a call. Default: 100 calls when a ratio rule is set and no
// window is. It panics unless 1 <= n <= 1<<20 (1,048,576), or if a time
// window is also set.
func WithCountWindow(n int) Option {
	if n < 1 || n > maxCountWindow {
		panicf("WithCountWindow", "n must be in [1, %d], got %d", maxCountWindow, n)
	}
	return optionFunc(func(c *config) { c.countWindow = n })
}

// WithTimeWindow makes the ratio rules look at the calls of the last span,
// kept in buckets of span/buckets: the oldest bucket is forgotten at once
// as time moves on. It makes the breaker read the clock on every call.
// Default: off (a count window). It panics unless span > 0,
// 1 <= buckets <= 1000 and span is at least buckets nanoseconds.
func WithTimeWindow(span time.Duration, buckets int) Option {
	if span <= 0 {
		panicf("WithTimeWindow", "span must be > 0, got %v", span)
	}
	if buckets < 1 || buckets > 1000 {
		panicf("WithTimeWindow", "buckets must be in [1, 1000], got %d", buckets)
	}
	if span < time.Duration(buckets) {
		panicf("WithTimeWindow", "span %v is shorter than %d buckets of 1ns", span, buckets)
	}
	return optionFunc(func(c *config) { c.timeSpan, c.timeBuckets = span, buckets })
}

// WithMinimumCalls is the number of calls the window must hold before a
// ratio rule may open the breaker. Default: the count window's size, or 20
// for a time window. It panics if n < 1, or if it exceeds the count
// window's size (the rule could never fire).
func WithMinimumCalls(n int) Option {
	if n < 1 {
		panicf("WithMinimumCalls", "n must be >= 1, got %d", n)
	}
	return optionFunc(func(c *config) { c.minCalls = n })
}

// WithOpenDuration is how long the breaker stays open before it lets
// probes through (half-open). Default: 60s. It panics if d <= 0.
func WithOpenDuration(d time.Duration) Option {
	if d <= 0 {
		panicf("WithOpenDuration", "duration must be > 0, got %v", d)
	}
	return optionFunc(func(c *config) { c.openDuration = d })
}

// WithOpenBackoff multiplies the open duration by factor each time the
// breaker reopens from half-open without having closed, up to limit;
// closing resets it. Default: off (the same duration every time). It panics
// unless factor > 1 (and finite) and limit >= the open duration.
func WithOpenBackoff(factor float64, limit time.Duration) Option {
	if math.IsNaN(factor) || math.IsInf(factor, 0) || factor <= 1 {
		panicf("WithOpenBackoff", "factor must be > 1, got %v", factor)
	}
	if limit <= 0 {
		panicf("WithOpenBackoff", "limit must be > 0, got %v", limit)
	}
	return optionFunc(func(c *config) { c.backoffFactor, c.backoffMax = factor, limit })
}

// WithOpenJitter spreads each open duration uniformly over
// [d·(1−fraction), d·(1+fraction)], so that breakers that opened together
// do not probe together. Default: 0 (none). It panics unless
// 0 <= fraction < 1.
func WithOpenJitter(fraction float64) Option {
	if math.IsNaN(fraction) || fraction < 0 || fraction >= 1 {
		panicf("WithOpenJitter", "fraction must be in [0, 1), got %v", fraction)
	}
	return optionFunc(func(c *config) { c.jitter = fraction })
}

// WithHalfOpenProbes is the number of probes the half-open breaker admits,
// at once or one after another; further calls are rejected until the
// probes decide. The breaker closes once k probes succeeded (see
// WithHalfOpenSuccesses) and reopens as soon as that can no longer happen.
// Default: 1. It panics if k < 1.
func WithHalfOpenProbes(k int) Option {
	if k < 1 {
		panicf("WithHalfOpenProbes", "k must be >= 1, got %d", k)
	}
	return optionFunc(func(c *config) { c.probes = k })
}

// WithHalfOpenSuccesses closes the half-open breaker once n of its probes
// succeeded; it reopens once more than k−n failed. Default: n = k (any
// failed probe reopens). It panics if n < 1 or n exceeds the probe count.
func WithHalfOpenSuccesses(n int) Option {
	if n < 1 {
		panicf("WithHalfOpenSuccesses", "n must be >= 1, got %d", n)
	}
	return optionFunc(func(c *config) { c.probeNeed, c.probeRatio = n, 0 })
}

// WithHalfOpenSuccessRatio closes the half-open breaker once ratio of its
// probes succeeded (rounded up to whole probes). Default: all of them. It
// panics unless 0 < ratio <= 1.
func WithHalfOpenSuccessRatio(ratio float64) Option {
	checkRatio("WithHalfOpenSuccessRatio", ratio)
	return optionFunc(func(c *config) { c.probeRatio, c.probeNeed = ratio, 0 })
}

// WithHalfOpenMaxWait reopens a half-open breaker when a probe admitted
// by Acquire has not reported its outcome with Done within d of its
// admission, which frees the slots of permits that are never returned.
// It does not apply to probes under Execute, which always report: a slow
// probe decides by its outcome, however long it takes. Default: the open
// duration. It panics if d <= 0.
func WithHalfOpenMaxWait(d time.Duration) Option {
	if d <= 0 {
		panicf("WithHalfOpenMaxWait", "duration must be > 0, got %v", d)
	}
	return optionFunc(func(c *config) { c.halfOpenWait = d })
}

// WithFailureIf decides which errors are failures of the dependency; the
// errors it declines count as successes. It is asked after the caller's
// cancellation, local rejections by other bulwark policies
// (bulwark.ErrRejected) and WithIgnoreIf, which it cannot turn into
// failures. Default: every error not marked bulwark.Permanent is a
// failure, a timeout included, as the outcome table in the bulwark package
// doc says. It panics if pred is nil.
func WithFailureIf(pred func(err error) bool) Option {
	pred = outcome.FailureIf("breaker", pred)
	return optionFunc(func(c *config) { c.rules.FailureIf = pred })
}

// WithIgnoreIf marks errors that are neither success nor failure (a bad
// request the client should never have sent, say): they are not recorded,
// and an ignored probe frees its half-open slot. Default: none beyond the
// caller's cancellation and local rejections, which are always ignored, as
// the outcome table in the bulwark package doc says. It panics if pred is
// nil.
func WithIgnoreIf(pred func(err error) bool) Option {
	pred = outcome.IgnoreIf("breaker", pred)
	return optionFunc(func(c *config) { c.rules.IgnoreIf = pred })
}

// WithName names the breaker in its events and metrics
// (bulwark.policy.name). Default: unnamed. It panics if name is empty.
func WithName(name string) Option {
	name = policyopt.Name("breaker", name)
	return optionFunc(func(c *config) { c.tel.Name = name })
}

// WithMeterProvider records the breaker's events, call counts and state
// through mp. Default: the global provider (and, for events, the
// pipeline's provider if it has one). It panics if mp is nil.
func WithMeterProvider(mp metric.MeterProvider) Option {
	mp = policyopt.MeterProvider("breaker", mp)
	return optionFunc(func(c *config) { c.tel.MeterProvider = mp })
}

// WithObserver adds an observer of the breaker's events: state changes and
// rejections. It is never called with the breaker's lock held, so it may
// read State or Snapshot. Default: none. It panics if o is nil.
func WithObserver(o bulwark.Observer) Option {
	o = policyopt.Observer("breaker", o)
	return optionFunc(func(c *config) { c.tel.Observers = append(c.tel.Observers, o) })
}

// WithStore shares the breaker's state with the breakers of the same name
// (WithName, which a shared breaker needs) in other instances, through
// store (breaker/redisstore keeps it in Redis): when one opens, the others
// open for the time it has left, within the store's sync interval, and
// the fleet's half-open probes are counted together, so that the fleet,
// not each instance, sends the configured number. Transitions caused by
// outcomes are shared (an opening, and a close by successful probes);
// Isolate, Disable and Reset act on this instance alone, and an isolated
// or disabled breaker ignores the fleet. The closed path never calls the
// store: transitions are published asynchronously, and no lock is held
// across the protected call. While the store cannot reach its backend the
// breaker decides alone. Default: none. It panics if store is nil (or a
// nil pointer).
func WithStore(store Store) Option {
	if store == nil || isNilPointer(store) {
		panicf("WithStore", "store must not be nil")
	}
	return optionFunc(func(c *config) { c.store = store })
}

// isNilPointer reports whether v holds a nil pointer: a typed nil Store
// would fail at its first call.
func isNilPointer(v any) bool {
	r := reflect.ValueOf(v)
	return r.Kind() == reflect.Pointer && r.IsNil()
}

// withClock replaces the clock, for tests that step time by hand.
func withClock(c clock.Clock) Option {
	return optionFunc(func(cfg *config) { cfg.clock = c })
}

// newConfig applies opts over the defaults and checks what single options
// cannot check alone.
func newConfig(opts []Option) config {
	c := config{clock: clock.Real}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if c.countWindow > 0 && c.timeSpan > 0 {
		panicf("WithTimeWindow", "a breaker has one window, but WithCountWindow(%d) is also set", c.countWindow)
	}
	ratioRules := c.ratio > 0 || c.slowRatio > 0
	if (c.countWindow > 0 || c.timeSpan > 0 || c.minCalls > 0) && !ratioRules {
		panicf("New", "a window or minimum calls is set, but no ratio rule (WithFailureRatio or WithSlowCalls) uses it")
	}
	if ratioRules && c.countWindow == 0 && c.timeSpan == 0 {
		c.countWindow = defaultCountWindow
	}
	if c.minCalls == 0 {
		c.minCalls = c.countWindow
		if c.timeSpan > 0 {
			c.minCalls = defaultTimeMinCalls
		}
	}
	if c.countWindow > 0 && c.minCalls > c.countWindow {
		panicf("WithMinimumCalls", "%d exceeds the count window of %d calls: the ratio rules could never fire", c.minCalls, c.countWindow)
	}
	if c.consecutive == 0 && !ratioRules {
		c.consecutive = defaultConsecutive
	}
	if c.openDuration == 0 {
		c.openDuration = defaultOpenDuration
	}
	if c.backoffMax > 0 && c.backoffMax < c.openDuration {
		panicf("WithOpenBackoff", "limit %v is below the open duration %v", c.backoffMax, c.openDuration)
	}
	if c.probes == 0 {
		c.probes = 1
	}
	switch {
	case c.probeRatio > 0:
		// Rounded up, and within [1, probes]: float64(probes) may round
		// past the largest int.
		c.probeNeed = c.probes
		if need := math.Ceil(c.probeRatio * float64(c.probes)); need < float64(c.probes) {
			c.probeNeed = max(int(need), 1)
		}
	case c.probeNeed == 0:
		c.probeNeed = c.probes
	case c.probeNeed > c.probes:
		panicf("WithHalfOpenSuccesses", "n = %d exceeds the %d half-open probes", c.probeNeed, c.probes)
	}
	if c.halfOpenWait == 0 {
		c.halfOpenWait = c.openDuration
	}
	if c.store != nil && c.tel.Name == "" {
		panicf("WithStore", "a shared breaker needs a name (WithName) to share its state under, got none")
	}
	return c
}
