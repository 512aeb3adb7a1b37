package chaos

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/policyopt"
	"go.opentelemetry.io/otel/metric"
)

// Option configures a Chaos in New. Nil options are ignored.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	delays []delayFault
	aborts []abortFault
	seeded bool
	seed   uint64
	when   []func(context.Context) bool
	tel    policyopt.Telemetry
}

func panicf(option, format string, args ...any) {
	panic(fmt.Sprintf("bulwark/chaos: "+option+": "+format, args...))
}

// checkRate rejects a rate that is not a probability. A tiny rate (1e-12)
// is a probability like any other: decisions are drawn with 64 bits, so it
// fires about once in 10^12 calls.
func checkRate(option string, rate float64) float64 {
	if math.IsNaN(rate) || rate < 0 || rate > 1 {
		panicf(option, "rate must be in [0, 1], got %v", rate)
	}
	return rate
}

// WithError makes a share rate of the calls fail with err without running:
// the call returns err itself, unwrapped, as the dependency's own failure
// would come back. It may be given several times, with different errors.
// Default: none. It panics if rate is not in [0, 1] (NaN included) or err
// is nil (a nil pointer of an error type included).
func WithError(rate float64, err error) Option {
	checkRate("WithError", rate)
	if isNil(err) {
		panicf("WithError", "err must not be nil")
	}
	return optionFunc(func(c *config) {
		c.aborts = append(c.aborts, abortFault{kind: kindError, rate: rate, err: err})
	})
}

// isNil reports whether err is nil or a nil pointer in an error
// interface, which would be returned as a failure whose Error method
// panics.
func isNil(err error) bool {
	if err == nil {
		return true
	}
	switch v := reflect.ValueOf(err); v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface:
		return v.IsNil()
	}
	return false
}

// WithPanic makes a share rate of the calls panic with ErrPanic before
// running, as a bug in the code around the call would. Default: never. It
// panics if rate is not in [0, 1].
func WithPanic(rate float64) Option {
	checkRate("WithPanic", rate)
	return optionFunc(func(c *config) {
		c.aborts = append(c.aborts, abortFault{kind: kindPanic, rate: rate})
	})
}

// WithOutcome makes a share rate of the calls run and then hands their
// outcome to fn, whose result the call returns instead: a call that
// succeeded at the dependency but whose answer was lost
// (func(ctx, err) error { return errLost }), or a failure that was
// swallowed. It may be given several times. Default: none. It panics if
// rate is not in [0, 1] or fn is nil.
func WithOutcome(rate float64, fn func(ctx context.Context, err error) error) Option {
	checkRate("WithOutcome", rate)
	if fn == nil {
		panicf("WithOutcome", "function must not be nil")
	}
	return optionFunc(func(c *config) {
		c.aborts = append(c.aborts, abortFault{kind: kindOutcome, rate: rate, outcome: fn})
	})
}

// WithLatency delays a share rate of the calls, before they run, by d plus
// a jitter drawn uniformly from [-jitter, +jitter], to the nanosecond:
// WithLatency(1, 5*time.Second, time.Second) delays every call by 4 to 6
// seconds. A delay that would pass math.MaxInt64 nanoseconds saturates
// there. The call's ctx cuts the delay short, and the call then returns
// ctx.Err() without running. It may be given several times, with
// different delays. Default: none. It panics if rate is not in [0, 1], d
// is not positive, or jitter is not in [0, d].
func WithLatency(rate float64, d, jitter time.Duration) Option {
	checkRate("WithLatency", rate)
	if d <= 0 {
		panicf("WithLatency", "d must be > 0, got %v", d)
	}
	if jitter < 0 || jitter > d {
		panicf("WithLatency", "jitter must be in [0, d] (d is %v), got %v", d, jitter)
	}
	return optionFunc(func(c *config) {
		c.delays = append(c.delays, delayFault{rate: rate, d: d, jitter: jitter})
	})
}

// WithSeed makes the Chaos draw its decisions from a PCG generator seeded
// with seed, so that two Chaos built with the same options and seed make
// the same sequence of decisions for the same sequence of calls. The
// calls of one goroutine, one after the other, are such a sequence; calls
// from several goroutines at once share the sequence in the order they
// reach it, which the scheduler decides. Decisions are drawn under a
// mutex, held for the draws only. Default: unseeded, drawn from
// math/rand/v2's runtime generator without a lock.
func WithSeed(seed uint64) Option {
	return optionFunc(func(c *config) { c.seeded, c.seed = true, seed })
}

// WithEnabled switches injection on for the calls for which pred returns
// true (a tenant, a header, a share of the traffic), beside SetEnabled,
// Enable and each other: a call gets faults when any of them says so.
// pred runs on every call while the Chaos is not switched on globally, so
// it should be cheap. WithEnabled(chaos.BaggageEnabled) honours the
// bulwark.chaos=on baggage member that EnableBaggage sets. Default: none.
// It panics if pred is nil.
func WithEnabled(pred func(ctx context.Context) bool) Option {
	if pred == nil {
		panicf("WithEnabled", "predicate must not be nil")
	}
	return optionFunc(func(c *config) { c.when = append(c.when, pred) })
}

// WithName names the policy in its events (bulwark.policy.name).
// Default: unnamed. It panics if name is empty.
func WithName(name string) Option {
	name = policyopt.Name("chaos", name)
	return optionFunc(func(c *config) { c.tel.Name = name })
}

// WithMeterProvider records the policy's events and counts through mp.
// Default: the pipeline's provider if it has one, else the global one.
// It panics if mp is nil.
func WithMeterProvider(mp metric.MeterProvider) Option {
	mp = policyopt.MeterProvider("chaos", mp)
	return optionFunc(func(c *config) { c.tel.MeterProvider = mp })
}

// WithObserver adds an observer of the policy's events. Default: none.
// It panics if o is nil.
func WithObserver(o bulwark.Observer) Option {
	o = policyopt.Observer("chaos", o)
	return optionFunc(func(c *config) { c.tel.Observers = append(c.tel.Observers, o) })
}
