package bulkhead_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// simulate drives an adaptive limiter against a dependency whose latency
// grows once more than capacity calls run at once (base latency up to
// capacity, then in proportion to the concurrency: a queue), with three
// times as many clients as the capacity, for a simulated minute. It
// returns the limit sampled every 100ms.
func simulate(t *testing.T, alg bulkhead.Algorithm, capacity int) []int {
	const base = 10 * time.Millisecond
	const clients = 3
	var limits []int
	synctest.Test(t, func(t *testing.T) {
		a := bulkhead.NewAdaptive(alg, bulkhead.WithInitialLimit(5), bulkhead.WithMaxQueue(clients*capacity))
		var running atomic.Int64
		dependency := func(context.Context) error {
			n := running.Add(1)
			defer running.Add(-1)
			d := base
			if n > int64(capacity) {
				d = base * time.Duration(n) / time.Duration(capacity)
			}
			time.Sleep(d)
			return nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var wg sync.WaitGroup
		for range clients * capacity {
			wg.Go(func() {
				for ctx.Err() == nil {
					if err := a.Execute(ctx, dependency); err != nil && ctx.Err() == nil {
						time.Sleep(time.Millisecond)
					}
				}
			})
		}
		for ctx.Err() == nil {
			time.Sleep(100 * time.Millisecond)
			limits = append(limits, a.Limit())
		}
		wg.Wait()
	})
	return limits
}

// converged returns when the limit entered the band for good, or -1.
func converged(limits []int, lo, hi int) time.Duration {
	at := -1
	for i, l := range limits {
		if l < lo || l > hi {
			at = -1
		} else if at < 0 {
			at = i
		}
	}
	if at < 0 {
		return -1
	}
	return time.Duration(at+1) * 100 * time.Millisecond
}

func TestAdaptiveLimitsConvergeToTheCapacity(t *testing.T) {
	const capacity = 40
	lo, hi := capacity*7/10, capacity*13/10
	for _, tc := range []struct {
		name string
		alg  func() bulkhead.Algorithm
	}{
		{"aimd", func() bulkhead.Algorithm { return bulkhead.AIMD(0.9, 12*time.Millisecond) }},
		{"vegas", bulkhead.Vegas},
		{"gradient2", func() bulkhead.Algorithm { return bulkhead.Gradient2(1.1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			limits := simulate(t, tc.alg(), capacity)
			at := converged(limits, lo, hi)
			last := limits[len(limits)-1]
			t.Logf("%s: capacity %d, final limit %d, within ±30%% for good after %v", tc.name, capacity, last, at)
			require.GreaterOrEqual(t, at, time.Duration(0), "never settled within [%d, %d]: %v", lo, hi, limits)
			assert.Less(t, at, 30*time.Second, "settles within half the simulated minute")
		})
	}
}

func TestAdaptiveReportsLimitChanges(t *testing.T) {
	var ev otest.Events
	a := bulkhead.NewAdaptive(bulkhead.AIMD(0.5, time.Hour), bulkhead.WithInitialLimit(4), bulkhead.WithObserver(ev.Observe),
		bulkhead.WithSampleWindow(time.Nanosecond))
	for range 10 { // one window of samples
		require.ErrorIs(t, a.Execute(context.Background(), func(context.Context) error { return errDep }), errDep)
	}
	assert.Equal(t, 2, a.Limit(), "a dropped call halves the limit")
	require.Len(t, ev.List(), 1)
	assert.Equal(t, bulwark.EventLimitChange, ev.List()[0].Type)
	assert.Equal(t, 2, ev.List()[0].Limit)
	assert.Empty(t, ev.List()[0].Reason, "the algorithm is no reason")
}

func TestAdaptiveIgnoresTheCallersCancellation(t *testing.T) {
	a := bulkhead.NewAdaptive(bulkhead.AIMD(0.5, time.Hour), bulkhead.WithInitialLimit(4), bulkhead.WithSampleWindow(time.Nanosecond))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 20 {
		_ = a.Execute(ctx, func(ctx context.Context) error { return ctx.Err() })
	}
	assert.Equal(t, 4, a.Limit())
}

func TestAdaptiveRespectsItsBounds(t *testing.T) {
	a := bulkhead.NewAdaptive(bulkhead.AIMD(0.5, time.Hour), bulkhead.WithLimits(3, 6), bulkhead.WithInitialLimit(4),
		bulkhead.WithSampleWindow(time.Nanosecond))
	for range 50 {
		_ = a.Execute(context.Background(), func(context.Context) error { return errors.New("x") })
	}
	assert.Equal(t, 3, a.Limit())
}
