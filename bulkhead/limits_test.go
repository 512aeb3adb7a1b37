package bulkhead_test

import (
	"context"
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var algorithms = []struct {
	name string
	alg  func() bulkhead.Algorithm
}{
	{"aimd", func() bulkhead.Algorithm { return bulkhead.AIMD(0.9, time.Second) }},
	{"vegas", bulkhead.Vegas},
	{"gradient2", func() bulkhead.Algorithm { return bulkhead.Gradient2(1.5) }},
}

// fill runs n calls at once through a (each one blocked until all n are in
// flight), so that the limiter is in use, and returns when all have
// returned. Inside a synctest bubble the calls take no time: an RTT of 0.
func fill(t *testing.T, a *bulkhead.Adaptive, n int) {
	t.Helper()
	var wg sync.WaitGroup
	var started sync.WaitGroup
	started.Add(n)
	for range n {
		wg.Go(func() {
			_ = a.Execute(context.Background(), func(context.Context) error {
				started.Done()
				started.Wait()
				return nil
			})
		})
	}
	wg.Wait()
}

// A call answered at once (from a cache, or on the virtual clock of
// testing/synctest) has an RTT of 0: no algorithm may turn it into a NaN
// limit, which converted to an int is MinInt64 and admits nothing.
func TestAdaptiveZeroRTTKeepsTheLimitWithinItsBounds(t *testing.T) {
	for _, tc := range algorithms {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a := bulkhead.NewAdaptive(tc.alg(), bulkhead.WithLimits(1, 4), bulkhead.WithInitialLimit(2),
					bulkhead.WithSampleWindow(time.Nanosecond))
				for range 20 {
					time.Sleep(time.Millisecond) // between calls, so that windows close
					fill(t, a, min(a.Limit(), 2))
					require.GreaterOrEqual(t, a.Limit(), 1)
					require.LessOrEqual(t, a.Limit(), 4)
				}
				require.NoError(t, a.Execute(context.Background(), nop), "the limiter still admits calls")
			})
		})
	}
}

// At the top of the int range the float limit is 2^63, one past MaxInt64:
// converting it must saturate, not wrap to MinInt64.
func TestAdaptiveLimitAtMaxIntSaturates(t *testing.T) {
	for _, tc := range algorithms {
		t.Run(tc.name, func(t *testing.T) {
			a := bulkhead.NewAdaptive(tc.alg(), bulkhead.WithLimits(1, math.MaxInt), bulkhead.WithInitialLimit(math.MaxInt),
				bulkhead.WithSampleWindow(time.Nanosecond))
			for range 30 {
				require.NoError(t, a.Execute(context.Background(), nop))
				require.Positive(t, a.Limit())
			}
			assert.Equal(t, math.MaxInt, a.Limit())
			assert.Equal(t, math.MaxInt, a.Snapshot().Limit)
		})
	}
}

// The default initial limit (20) is a default, not a setting: it is
// clamped into the limits the user gave.
func TestAdaptiveDefaultInitialLimitIsClampedIntoTheLimits(t *testing.T) {
	assert.NotPanics(t, func() {
		assert.Equal(t, 10, bulkhead.NewAdaptive(bulkhead.AIMD(0.9, time.Second), bulkhead.WithLimits(1, 10)).Limit())
	})
	assert.NotPanics(t, func() {
		assert.Equal(t, 50, bulkhead.NewAdaptive(bulkhead.Vegas(), bulkhead.WithLimits(50, 100)).Limit())
	})
	assert.Equal(t, 20, bulkhead.NewAdaptive(bulkhead.Vegas()).Limit())
	assert.PanicsWithValue(t, "bulwark/bulkhead: WithInitialLimit: 11 is outside the limits [1, 10]", func() {
		bulkhead.NewAdaptive(bulkhead.Vegas(), bulkhead.WithLimits(1, 10), bulkhead.WithInitialLimit(11))
	}, "an explicit initial limit outside the limits is still a configuration error")
}
