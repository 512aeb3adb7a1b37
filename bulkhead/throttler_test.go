package bulkhead_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var errOverloaded = bulwark.WithRetryAfter(errors.New("503 overloaded"), time.Second)

// throttle sends a call every millisecond for d to a dependency that
// accepts the sent calls for which accept(n) is true (n counts sent calls
// from 1), and returns the share of calls rejected locally during the last
// third of d.
func throttle(t *testing.T, th *bulkhead.Throttler, accept func(n int) bool, d time.Duration) float64 {
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
			if errors.Is(err, bulkhead.ErrThrottled) {
				local++
			}
		}
		time.Sleep(time.Millisecond)
	}
	require.Positive(t, total)
	return float64(local) / float64(total)
}

// A dependency that accepts 10% of calls: the local rejection rate
// converges to the SRE formula's value, capped.
func TestThrottlerConvergesToTheFormula(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th := bulkhead.NewThrottler(bulkhead.WithK(2), bulkhead.WithWindow(10*time.Second))
		rate := throttle(t, th, oneIn(10), 30*time.Second)
		formula := th.Probability()
		t.Logf("local rejection rate %.3f, formula %.3f", rate, formula)
		assert.InDelta(t, formula, rate, 0.05)
		assert.InDelta(t, 0.9, formula, 0.01, "requests ≈ 10 × accepts: (R − 2A)/(R + 1) is past the 0.9 cap")
	})
}

func TestThrottlerWithALowerCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th := bulkhead.NewThrottler(bulkhead.WithWindow(10*time.Second), bulkhead.WithMaxRejection(0.5))
		rate := throttle(t, th, oneIn(10), 30*time.Second)
		assert.InDelta(t, 0.5, rate, 0.05)
	})
}

func TestThrottlerLeavesAHealthyDependencyAlone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th := bulkhead.NewThrottler(bulkhead.WithWindow(10 * time.Second))
		assert.Zero(t, throttle(t, th, oneIn(1), 20*time.Second))
		// Accepting 3 calls in 4 with K = 2: requests − 2·accepts < 0, so
		// nothing is rejected once the first failures are outweighed.
		threeInFour := func(n int) bool { return n%4 != 0 }
		assert.Zero(t, throttle(t, bulkhead.NewThrottler(bulkhead.WithWindow(10*time.Second)), threeInFour, 20*time.Second))
	})
}

func oneIn(k int) func(int) bool { return func(n int) bool { return n%k == 0 } }

func TestThrottlerFormulaFromCounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th := bulkhead.NewThrottler(bulkhead.WithK(1.5), bulkhead.WithWindow(10*time.Second), bulkhead.WithMaxRejection(0.99))
		fail := func(context.Context) error { return errOverloaded }
		for range 9 { // 9 requests, 0 accepts, no rejection yet for the first
			_ = th.Execute(context.Background(), fail)
			if th.Probability() > 0 {
				break
			}
		}
		assert.InDelta(t, 1.0/2, th.Probability(), 1e-9, "1 request, no accept: (1 − 0)/(1 + 1)")
	})
}

// A call that outlasts the window must not write into the bucket of its
// start time: by its end that slot of the ring holds the current bucket,
// and resetting it erased every request counted there.
func TestThrottlerLateSuccessKeepsTheCurrentBucket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 10 buckets of 1s; the bubble's clock starts on a whole second.
		th := bulkhead.NewThrottler(bulkhead.WithWindow(10 * time.Second))
		done := make(chan error)
		go func() {
			done <- th.Execute(context.Background(), func(context.Context) error {
				time.Sleep(10500 * time.Millisecond) // starts in bucket 0, ends in bucket 10: the same slot
				return nil
			})
		}()
		time.Sleep(10200 * time.Millisecond) // bucket 10
		for range 100 {
			_ = th.Execute(context.Background(), func(context.Context) error { return errOverloaded })
		}
		before := th.Probability()
		require.InDelta(t, 0.9, before, 1e-9)
		require.NoError(t, <-done)
		// One accept against 100 requests: (100 − 2·1)/(100 + 1), capped.
		assert.InDelta(t, before, th.Probability(), 1e-9, "the late success erased the current bucket")
	})
}
