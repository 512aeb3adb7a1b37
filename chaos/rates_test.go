package chaos_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark/chaos"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var errInjected = errors.New("injected failure")

// outcomeOf runs one call through c and says what happened to it, from
// the outside: whether the call was held (virtual time passed), whether
// it ran, and how it ended.
type observed struct {
	delayed, ran, panicked bool
	err                    error
}

func observe(c *chaos.Chaos, ctx context.Context) (o observed) {
	start := time.Now()
	defer func() {
		o.delayed = time.Since(start) > 0
		if v := recover(); v != nil {
			o.panicked = v == chaos.ErrPanic
			if !o.panicked {
				panic(v)
			}
		}
	}()
	o.err = c.Execute(ctx, func(context.Context) error {
		o.ran = true
		return nil
	})
	return o
}

var (
	errReplaced = errors.New("answer lost")
	errOther    = errors.New("another injected failure")
)

// Over 100,000 calls with a seed, each fault's observed rate is within one
// point of its configured rate. The rates are measured from the outside
// (the delay in virtual time, the error returned, the panic recovered,
// the call run or not), not read from the Chaos's counts, which must
// agree with them.
func TestObservedRatesMatchConfiguredRates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const calls = 100_000
		c := chaos.New(
			chaos.WithSeed(7),
			chaos.WithLatency(0.2, time.Millisecond, 0),
			chaos.WithLatency(0.05, 3*time.Millisecond, time.Millisecond),
			chaos.WithError(0.2, errInjected),
			chaos.WithError(0.1, errOther),
			chaos.WithPanic(0.05),
			chaos.WithOutcome(0.1, func(context.Context, error) error { return errReplaced }),
		)
		c.SetEnabled(true)
		var delayed, failed, other, panicked, replaced, ran int
		for range calls {
			o := observe(c, context.Background())
			if o.delayed {
				delayed++
			}
			switch {
			case o.panicked:
				panicked++
				require.False(t, o.ran, "a panic is injected before the call runs")
			case errors.Is(o.err, errInjected):
				failed++
				require.False(t, o.ran, "an error is injected instead of running the call")
			case errors.Is(o.err, errOther):
				other++
				require.False(t, o.ran)
			case errors.Is(o.err, errReplaced):
				replaced++
				require.True(t, o.ran, "an outcome is replaced after the call ran")
			default:
				require.NoError(t, o.err)
				require.True(t, o.ran)
			}
			if o.ran {
				ran++
			}
		}
		rate := func(n int) float64 { return float64(n) / calls }
		for _, r := range []struct {
			name      string
			got, want float64
		}{
			{"latency", rate(delayed), 0.25},
			{"error", rate(failed), 0.2},
			{"other error", rate(other), 0.1},
			{"panic", rate(panicked), 0.05},
			{"outcome", rate(replaced), 0.1},
			{"untouched", rate(ran - replaced), 0.55},
		} {
			t.Logf("%-9s configured %.3f observed %.4f", r.name, r.want, r.got)
			assert.InDelta(t, r.want, r.got, 0.01, r.name)
		}
		assert.Equal(t, chaos.Snapshot{
			Enabled: true, Errors: int64(failed + other), Latencies: int64(delayed),
			Panics: int64(panicked), Outcomes: int64(replaced),
		}, c.Snapshot())
	})
}

// WithLatency(1, 5s, 1s) is 5 s ± 1 s: every delay lies in [4 s, 6 s],
// and the delays spread over the whole band, evenly.
func TestLatencyFiveSecondsPlusOrMinusOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const calls = 10_000
		c := chaos.New(chaos.WithSeed(1), chaos.WithLatency(1, 5*time.Second, time.Second))
		c.SetEnabled(true)
		lo, hi := time.Duration(math.MaxInt64), time.Duration(0)
		var sum time.Duration
		var quarters [4]int
		for range calls {
			start := time.Now()
			require.NoError(t, c.Execute(context.Background(), func(context.Context) error { return nil }))
			d := time.Since(start)
			require.GreaterOrEqual(t, d, 4*time.Second)
			require.LessOrEqual(t, d, 6*time.Second)
			lo, hi, sum = min(lo, d), max(hi, d), sum+d
			quarters[min(int((d-4*time.Second)/(500*time.Millisecond)), 3)]++
		}
		t.Logf("%d delays: min %v, max %v, mean %v, by half second from 4s: %v", calls, lo, hi, sum/calls, quarters)
		assert.Less(t, lo, 4*time.Second+10*time.Millisecond)
		assert.Greater(t, hi, 6*time.Second-10*time.Millisecond)
		assert.InDelta(t, float64(5*time.Second), float64(sum/calls), float64(20*time.Millisecond))
		for _, n := range quarters {
			assert.InDelta(t, calls/4, n, calls/40, "uniform: a quarter of the band holds a quarter of the delays")
		}
	})
}

// A rate of 1e-12 is a probability like any other: accepted, and over
// 100,000 seeded calls it fires never (once in 10^12 calls, on average),
// while a rate of 1 fires always.
func TestTinyAndCertainRates(t *testing.T) {
	tiny := chaos.New(chaos.WithSeed(3), chaos.WithError(1e-12, errInjected), chaos.WithPanic(1e-12))
	tiny.SetEnabled(true)
	for range 100_000 {
		require.NoError(t, tiny.Execute(context.Background(), func(context.Context) error { return nil }))
	}
	certain := chaos.New(chaos.WithSeed(3), chaos.WithError(1, errInjected))
	certain.SetEnabled(true)
	for range 100_000 {
		require.Equal(t, errInjected, certain.Execute(context.Background(), func(context.Context) error { return nil }))
	}
	// Rates that add up to 1 with a rounding above it (0.1 + 0.2 + 0.7)
	// count as 1: every call gets one of the faults.
	full := chaos.New(chaos.WithError(0.1, errInjected), chaos.WithError(0.2, errInjected), chaos.WithError(0.7, errInjected))
	full.SetEnabled(true)
	for range 10_000 {
		require.Equal(t, errInjected, full.Execute(context.Background(), func(context.Context) error { return nil }))
	}
}
