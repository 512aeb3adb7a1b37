package throttle_test

import (
	"context"
	"errors"
	"math"
	"reflect"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/throttle"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// drive sends a call every millisecond for d to a dependency that accepts
// the sent calls for which accept(n) is true (n counts sent calls from 1),
// and returns the share of calls rejected locally during the last third
// of d.
func drive(t *testing.T, th *throttle.Throttler, accept func(n int) bool, d time.Duration) float64 {
	sent, local, total := 0, 0, 0
	start := time.Now()
	for time.Since(start) < d {
		counted := time.Since(start) >= d*2/3
		err := th.Execute(context.Background(), func(context.Context) error {
			sent++
			if accept(sent) {
				return nil
			}
			return errOverloaded
		})
		if counted {
			total++
			if errors.Is(err, throttle.ErrThrottled) {
				local++
			}
		}
		time.Sleep(time.Millisecond)
	}
	require.Positive(t, total)
	return float64(local) / float64(total)
}

func oneIn(k int) func(int) bool { return func(n int) bool { return n%k == 0 } }

// A dependency that accepts 10% of calls: the local rejection rate
// converges to the SRE formula's value, capped.
func TestThrottlerConvergesToTheFormula(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th := throttle.New(throttle.WithK(2), throttle.WithWindow(10*time.Second))
		rate := drive(t, th, oneIn(10), 30*time.Second)
		formula := th.Probability()
		t.Logf("local rejection rate %.3f, formula %.3f", rate, formula)
		assert.InDelta(t, formula, rate, 0.05)
		assert.InDelta(t, 0.9, formula, 0.01, "requests ≈ 10 × accepts: (R − 2A)/(R + 1) is past the 0.9 cap")
	})
}

func TestThrottlerWithALowerCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th := throttle.New(throttle.WithWindow(10*time.Second), throttle.WithMaxRejection(0.5))
		rate := drive(t, th, oneIn(10), 30*time.Second)
		assert.InDelta(t, 0.5, rate, 0.05)
	})
}

func TestThrottlerLeavesAHealthyDependencyAlone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th := throttle.New(throttle.WithWindow(10 * time.Second))
		assert.Zero(t, drive(t, th, oneIn(1), 20*time.Second))
		// Accepting 3 calls in 4 with K = 2: requests − 2·accepts < 0, so
		// nothing is rejected once the first failures are outweighed.
		threeInFour := func(n int) bool { return n%4 != 0 }
		assert.Zero(t, drive(t, throttle.New(throttle.WithWindow(10*time.Second)), threeInFour, 20*time.Second))
	})
}

func TestThrottlerFormulaFromCounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th := throttle.New(throttle.WithK(1.5), throttle.WithWindow(10*time.Second), throttle.WithMaxRejection(0.99))
		for range 9 { // 9 requests, 0 accepts, no rejection yet for the first
			_ = th.Execute(context.Background(), overloaded)
			if th.Probability() > 0 {
				break
			}
		}
		assert.InDelta(t, 1.0/2, th.Probability(), 1e-9, "1 request, no accept: (1 − 0)/(1 + 1)")
	})
}

// The window forgets: 10 buckets of 1s, and a bucket leaves the window
// whole once the window has moved past it.
func TestThrottlerForgetsWhatLeftTheWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th := throttle.New(throttle.WithWindow(10*time.Second), throttle.WithMaxRejection(0.99))
		_ = th.Execute(context.Background(), overloaded)
		assert.InDelta(t, 0.5, th.Probability(), 1e-9)
		time.Sleep(9999 * time.Millisecond)
		assert.InDelta(t, 0.5, th.Probability(), 1e-9, "still in the window's 10th bucket")
		time.Sleep(time.Millisecond)
		assert.Zero(t, th.Probability(), "its bucket left the window")
	})
}

// A call that outlasts the window must not write into the bucket of its
// start time: by its end that slot of the ring holds the current bucket,
// and resetting it erased every request counted there.
func TestThrottlerLateSuccessKeepsTheCurrentBucket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 10 buckets of 1s; the bubble's clock starts on a whole second.
		th := throttle.New(throttle.WithWindow(10 * time.Second))
		done := make(chan error)
		go func() {
			done <- th.Execute(context.Background(), func(context.Context) error {
				time.Sleep(10500 * time.Millisecond) // starts in bucket 0, ends in bucket 10: the same slot
				return nil
			})
		}()
		time.Sleep(10200 * time.Millisecond) // bucket 10
		for range 100 {
			_ = th.Execute(context.Background(), overloaded)
		}
		before := th.Probability()
		require.InDelta(t, 0.9, before, 1e-9)
		require.NoError(t, <-done)
		// One accept against 100 requests: (100 − 2·1)/(100 + 1), capped.
		assert.InDelta(t, before, th.Probability(), 1e-9, "the late success erased the current bucket")
	})
}

// Every local rejection is an event, with the sentinel error.
func TestRejectionsAreReported(t *testing.T) {
	var ev otest.Events
	th := throttle.New(throttle.WithObserver(ev.Observe), throttle.WithName("inventory"), throttle.WithMaxRejection(0.99))
	rejected := 0
	for range 200 {
		if errors.Is(th.Execute(context.Background(), overloaded), throttle.ErrThrottled) {
			rejected++
		}
	}
	require.Positive(t, rejected)
	events := ev.List()
	require.Len(t, events, rejected)
	for _, e := range events {
		assert.Equal(t, bulwark.EventRejected, e.Type)
		assert.Equal(t, "throttler", e.Policy)
		assert.Equal(t, "inventory", e.Name)
		assert.Equal(t, throttle.ErrThrottled, e.Err)
		assert.Empty(t, e.Reason)
		assert.Zero(t, e.Delay, "a throttled call has no hint")
	}
}

// ErrThrottled has the shape of every bulwark sentinel: a comparable
// value of an unexported struct type.
func TestErrThrottledMatchesErrRejectedAndHasNoHint(t *testing.T) {
	typ := reflect.TypeOf(throttle.ErrThrottled)
	assert.Equal(t, reflect.Struct, typ.Kind())
	assert.True(t, typ.Comparable())
	assert.ErrorIs(t, throttle.ErrThrottled, bulwark.ErrRejected)
	assert.EqualError(t, throttle.ErrThrottled, "bulwark/throttle: throttled locally")
	_, ok := bulwark.RetryAfter(throttle.ErrThrottled)
	assert.False(t, ok)
}

func TestExecuteRejectsNilArguments(t *testing.T) {
	for _, p := range []bulwark.Policy{throttle.New(), &throttle.Throttler{}} {
		assert.ErrorIs(t, p.Execute(context.Background(), nil), bulwark.ErrNilFunc)
		//lint:ignore SA1012 a nil context is the point of the test
		assert.ErrorIs(t, p.Execute(nil, nop), bulwark.ErrNilContext)
	}
}

func TestBadConfigurationPanicsWithItsName(t *testing.T) {
	cases := map[string]func(){
		"bulwark/throttle: WithK: k must be >= 1, got 0.5":               func() { throttle.WithK(0.5) },
		"bulwark/throttle: WithK: k must be >= 1, got NaN":               func() { throttle.WithK(math.NaN()) },
		"bulwark/throttle: WithK: k must be >= 1, got +Inf":              func() { throttle.WithK(math.Inf(1)) },
		"bulwark/throttle: WithWindow: window must be >= 10ns, got 1ns":  func() { throttle.WithWindow(1) },
		"bulwark/throttle: WithWindow: window must be >= 10ns, got -1s":  func() { throttle.WithWindow(-time.Second) },
		"bulwark/throttle: WithMaxRejection: p must be in (0, 1), got 1": func() { throttle.WithMaxRejection(1) },
		"bulwark/throttle: WithMaxRejection: p must be in (0, 1), got 0": func() { throttle.WithMaxRejection(0) },
		"bulwark/throttle: WithMaxRejection: p must be in (0, 1), got NaN": func() {
			throttle.WithMaxRejection(math.NaN())
		},
		"bulwark/throttle: WithFailureIf: predicate must not be nil":    func() { throttle.WithFailureIf(nil) },
		"bulwark/throttle: WithIgnoreIf: predicate must not be nil":     func() { throttle.WithIgnoreIf(nil) },
		"bulwark/throttle: WithName: name must not be empty":            func() { throttle.WithName("") },
		"bulwark/throttle: WithMeterProvider: provider must not be nil": func() { throttle.WithMeterProvider(nil) },
		"bulwark/throttle: WithObserver: observer must not be nil":      func() { throttle.WithObserver(nil) },
	}
	for msg, f := range cases {
		assert.PanicsWithValue(t, msg, f)
	}
	assert.NotNil(t, throttle.New(nil), "nil options are ignored")
}

// The extremes of the window: the longest Duration, and the shortest the
// option allows, with 1ns buckets.
func TestExtremeWindows(t *testing.T) {
	for _, d := range []time.Duration{10, time.Duration(1<<63 - 1)} {
		synctest.Test(t, func(t *testing.T) {
			th := throttle.New(throttle.WithWindow(d), throttle.WithMaxRejection(0.99))
			require.NotPanics(t, func() {
				for range 20 {
					_ = th.Execute(context.Background(), overloaded)
				}
			})
			assert.Greater(t, th.Probability(), 0.5)
			time.Sleep(10 * time.Nanosecond)
			if d == 10 {
				assert.Zero(t, th.Probability(), "10ns later the window is empty")
			} else {
				assert.Greater(t, th.Probability(), 0.5)
			}
		})
	}
}

// The success path allocates nothing, alone and as a stage, for a built
// Throttler and the zero one; neither does a local rejection.
func TestNothingAllocates(t *testing.T) {
	ctx := context.Background()
	for name, th := range map[string]*throttle.Throttler{"New": throttle.New(), "zero": {}} {
		for _, p := range []bulwark.Policy{th, bulwark.New(th)} {
			assert.Zero(t, testing.AllocsPerRun(1000, func() { _ = p.Execute(ctx, nop) }), name)
		}
	}
	th := throttle.New(throttle.WithMaxRejection(0.99))
	for range 1000 {
		_ = th.Execute(ctx, overloaded)
	}
	assert.Zero(t, testing.AllocsPerRun(1000, func() { _ = th.Execute(ctx, overloaded) }), "a rejection, or a failure")
}
