package chaos_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/chaos"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/stretchr/testify/assert"
)

// Bad configuration panics at construction, naming the package, the
// option and the value.
func TestBadOptionsPanicNamingTheOption(t *testing.T) {
	var nilErr error
	for _, c := range []struct {
		want  string
		build func()
	}{
		{"bulwark/chaos: WithError: rate must be in [0, 1], got NaN", func() { chaos.WithError(testutil.NaN(), errInjected) }},
		{"bulwark/chaos: WithError: rate must be in [0, 1], got -1", func() { chaos.WithError(-1, errInjected) }},
		{"bulwark/chaos: WithError: rate must be in [0, 1], got 2", func() { chaos.WithError(2, errInjected) }},
		{"bulwark/chaos: WithError: rate must be in [0, 1], got +Inf", func() { chaos.WithError(math.Inf(1), errInjected) }},
		{"bulwark/chaos: WithError: err must not be nil", func() { chaos.WithError(0.5, nilErr) }},
		{"bulwark/chaos: WithError: err must not be nil", func() { chaos.WithError(0.5, (*typedErr)(nil)) }},
		{"bulwark/chaos: WithPanic: rate must be in [0, 1], got NaN", func() { chaos.WithPanic(testutil.NaN()) }},
		{"bulwark/chaos: WithPanic: rate must be in [0, 1], got 1.5", func() { chaos.WithPanic(1.5) }},
		{"bulwark/chaos: WithOutcome: rate must be in [0, 1], got -0.1", func() { chaos.WithOutcome(-0.1, func(context.Context, error) error { return nil }) }},
		{"bulwark/chaos: WithOutcome: function must not be nil", func() { chaos.WithOutcome(0.1, nil) }},
		{"bulwark/chaos: WithLatency: rate must be in [0, 1], got NaN", func() { chaos.WithLatency(testutil.NaN(), time.Second, 0) }},
		{"bulwark/chaos: WithLatency: d must be > 0, got 0s", func() { chaos.WithLatency(1, 0, 0) }},
		{"bulwark/chaos: WithLatency: d must be > 0, got -1s", func() { chaos.WithLatency(1, -time.Second, 0) }},
		{"bulwark/chaos: WithLatency: jitter must be in [0, d] (d is 1s), got -1ns", func() { chaos.WithLatency(1, time.Second, -1) }},
		{"bulwark/chaos: WithLatency: jitter must be in [0, d] (d is 1s), got 2s", func() { chaos.WithLatency(1, time.Second, 2*time.Second) }},
		{"bulwark/chaos: WithEnabled: predicate must not be nil", func() { chaos.WithEnabled(nil) }},
		{"bulwark/chaos: WithName: name must not be empty", func() { chaos.WithName("") }},
		{"bulwark/chaos: WithMeterProvider: provider must not be nil", func() { chaos.WithMeterProvider(nil) }},
		{"bulwark/chaos: WithObserver: observer must not be nil", func() { chaos.WithObserver(nil) }},
		{"bulwark/chaos: WithPanic: the rates of WithError, WithPanic and WithOutcome add up to 1.1, more than 1",
			func() { chaos.New(chaos.WithError(0.6, errInjected), chaos.WithPanic(0.5)) }},
		{"bulwark/chaos: WithLatency: the rates of WithLatency add up to 1.5, more than 1",
			func() { chaos.New(chaos.WithLatency(1, time.Second, 0), chaos.WithLatency(0.5, time.Second, 0)) }},
	} {
		assert.PanicsWithValue(t, c.want, c.build)
	}
}

type typedErr struct{}

func (*typedErr) Error() string { return "typed" }

// Valid extremes are accepted: rates of 0, 1 and 1e-12, the longest
// delay with the most jitter, a jitter equal to the delay.
func TestExtremeButValidOptions(t *testing.T) {
	assert.NotPanics(t, func() {
		chaos.New(
			chaos.WithError(0, errInjected), chaos.WithError(1e-12, errInjected), chaos.WithPanic(1-1e-12),
			chaos.WithLatency(1, math.MaxInt64, math.MaxInt64), chaos.WithLatency(0, time.Nanosecond, time.Nanosecond),
			chaos.WithSeed(0), chaos.WithSeed(math.MaxUint64),
		)
	})
}
