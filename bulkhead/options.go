package bulkhead

import (
	"fmt"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/outcome"
	"github.com/bulwark-go/bulwark/internal/policyopt"
	"go.opentelemetry.io/otel/metric"
)

// Option configures a Bulkhead (New), and an Adaptive limiter as well:
// every Option is an AdaptiveOption. The options of the fixed limit are
// the queue's (WithMaxQueue, WithMaxWait) and the telemetry's (WithName,
// WithMeterProvider, WithObserver).
type Option interface {
	AdaptiveOption
	applyBulkhead(*config)
}

// AdaptiveOption configures an Adaptive limiter (NewAdaptive): every
// Option, and the options only an adaptive limit has (WithLimits,
// WithInitialLimit, WithSampleWindow, WithFailureIf, WithIgnoreIf), which
// a fixed Bulkhead does not take.
type AdaptiveOption interface{ applyAdaptive(*config) }

// option is an Option: it applies to both constructors.
type option func(*config)

func (f option) applyBulkhead(c *config) { f(c) }
func (f option) applyAdaptive(c *config) { f(c) }

// adaptiveOption applies to NewAdaptive only.
type adaptiveOption func(*config)

func (f adaptiveOption) applyAdaptive(c *config) { f(c) }

type config struct {
	maxQueue int
	maxWait  time.Duration
	tel      policyopt.Telemetry

	// adaptive
	rules                       outcome.Rules
	minLimit, maxLimit, initial int
	sampleWindow                time.Duration
}

// newConfig applies opts with apply, ignoring nil ones, and checks what
// single options cannot check alone.
func newConfig[O any](opts []O, apply func(O, *config)) config {
	var c config
	for _, o := range opts {
		if any(o) != nil {
			apply(o, &c)
		}
	}
	if c.maxWait > 0 && c.maxQueue == 0 {
		panicf("WithMaxWait", "a wait needs a queue: set WithMaxQueue too")
	}
	return c
}

func panicf(option, format string, args ...any) {
	panic(fmt.Sprintf("bulwark/bulkhead: "+option+": "+format, args...))
}

// WithMaxQueue lets up to n calls wait, first come first served, for a
// permit instead of being rejected at once. Default: 0 (reject at once).
// It panics if n < 0.
func WithMaxQueue(n int) Option {
	if n < 0 {
		panicf("WithMaxQueue", "n must be >= 0, got %d", n)
	}
	return option(func(c *config) { c.maxQueue = n })
}

// WithMaxWait bounds the time a call waits in the queue; past it the call
// is rejected with an error matching ErrFull. The caller's context bounds
// it too. Default: no bound but the caller's context. It panics if d <= 0,
// and the constructor panics if no queue is set (WithMaxQueue).
func WithMaxWait(d time.Duration) Option {
	if d <= 0 {
		panicf("WithMaxWait", "duration must be > 0, got %v", d)
	}
	return option(func(c *config) { c.maxWait = d })
}

// WithName names the policy in its events and metrics
// (bulwark.policy.name). Default: unnamed. It panics if name is empty.
func WithName(name string) Option {
	name = policyopt.Name("bulkhead", name)
	return option(func(c *config) { c.tel.Name = name })
}

// WithMeterProvider records the policy's events, its gauges and its
// bulwark.calls count of rejections through mp. Default: the global
// provider (and, for events, the pipeline's if it has one). It panics if
// mp is nil.
func WithMeterProvider(mp metric.MeterProvider) Option {
	mp = policyopt.MeterProvider("bulkhead", mp)
	return option(func(c *config) { c.tel.MeterProvider = mp })
}

// WithObserver adds an observer of the policy's events. Default: none. It
// panics if o is nil.
func WithObserver(o bulwark.Observer) Option {
	o = policyopt.Observer("bulkhead", o)
	return option(func(c *config) { c.tel.Observers = append(c.tel.Observers, o) })
}

// WithLimits bounds an adaptive limit. Default: 1 and 1000. It panics
// unless 1 <= min <= max.
func WithLimits(min, max int) AdaptiveOption {
	if min < 1 || max < min {
		panicf("WithLimits", "need 1 <= min <= max, got %d and %d", min, max)
	}
	return adaptiveOption(func(c *config) { c.minLimit, c.maxLimit = min, max })
}

// WithInitialLimit is the limit an adaptive limiter starts from. Default:
// 20, or the nearer bound of WithLimits when 20 is outside them. It panics
// if n < 1, and NewAdaptive panics if n is outside the limits.
func WithInitialLimit(n int) AdaptiveOption {
	if n < 1 {
		panicf("WithInitialLimit", "n must be >= 1, got %d", n)
	}
	return adaptiveOption(func(c *config) { c.initial = n })
}

// WithSampleWindow is how long an adaptive limiter gathers samples (and at
// least 10 of them) before it hands their aggregate to the algorithm: the
// average RTT, the largest number in flight, and whether any call was
// dropped. Updating once a window, as Netflix's WindowedLimit does, keeps
// the limit from chasing samples taken under a limit it has already left.
// Default: 100ms. It panics if d <= 0.
func WithSampleWindow(d time.Duration) AdaptiveOption {
	if d <= 0 {
		panicf("WithSampleWindow", "duration must be > 0, got %v", d)
	}
	return adaptiveOption(func(c *config) { c.sampleWindow = d })
}

// WithFailureIf decides which errors are failures of the dependency: drops,
// which shrink the adaptive limit; the errors it declines are successes.
// It is asked after the caller's cancellation, local rejections
// (bulwark.ErrRejected) and WithIgnoreIf, which it cannot turn into
// failures. Default: every error not marked bulwark.Permanent is a
// failure, as the outcome table in the bulwark package doc says. It panics
// if pred is nil.
func WithFailureIf(pred func(err error) bool) AdaptiveOption {
	pred = outcome.FailureIf("bulkhead", pred)
	return adaptiveOption(func(c *config) { c.rules.FailureIf = pred })
}

// WithIgnoreIf marks errors that say nothing of the dependency's load (a
// bad request the client should never have sent, say): the adaptive
// limiter takes no sample from them. Default: none beyond the caller's
// cancellation and local rejections, which are always ignored, as the
// outcome table in the bulwark package doc says. It panics if pred is nil.
func WithIgnoreIf(pred func(err error) bool) AdaptiveOption {
	pred = outcome.IgnoreIf("bulkhead", pred)
	return adaptiveOption(func(c *config) { c.rules.IgnoreIf = pred })
}
