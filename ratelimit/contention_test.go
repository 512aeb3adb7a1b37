package ratelimit_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// load is what the contention tests measured: how many calls ran, and the
// longest RetryAfter hint a rejection carried.
type load struct {
	admitted atomic.Int64
	maxHint  atomic.Int64
}

func (l *load) hint(err error) (time.Duration, bool) {
	d, ok := bulwark.RetryAfter(err)
	if ok {
		for {
			m := l.maxHint.Load()
			if int64(d) <= m || l.maxHint.CompareAndSwap(m, int64(d)) {
				break
			}
		}
	}
	return d, ok
}

// hammer runs workers goroutines against lim until the time since start
// reaches dur. Each call has a random deadline (some shorter than the wait
// it would need), and one in four is cancelled by hand while it may be
// waiting, so every path of the wait mode runs: admitted at once, admitted
// after a wait, rejected for the maximum wait, rejected for the deadline,
// cancelled while waiting. pause is how a worker spends the time after a
// rejection.
func hammer(lim bulwark.Policy, workers int, start time.Time, dur time.Duration, pause func(time.Duration)) *load {
	var ld load
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			for time.Since(start) < dur {
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(1+rng.IntN(60))*time.Millisecond)
				var stop *time.Timer
				if rng.IntN(4) == 0 {
					stop = time.AfterFunc(time.Duration(1+rng.IntN(20))*time.Millisecond, cancel)
				}
				err := lim.Execute(ctx, func(context.Context) error { ld.admitted.Add(1); return nil })
				if stop != nil {
					stop.Stop()
				}
				cancel()
				if err != nil {
					d, _ := ld.hint(err)
					pause(d)
				}
			}
		})
	}
	wg.Wait()
	return &ld
}

// In a simulated bubble, 24 goroutines wait for tokens of a bucket of 200
// a second, bursts of 5, waiting at most 40ms. Over the run the bucket
// admits at most r·t + b calls, no rejection says to come back later than
// the longest wait plus one token, and once the load stops the idle bucket
// refills to its burst.
func TestWaitUnderContentionKeepsTheBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const limit, burst, maxWait = 200, 5, 40 * time.Millisecond
		start := time.Now()
		lim := ratelimit.New(limit, burst, ratelimit.WithMaxWait(maxWait))
		ld := hammer(lim, 24, start, 300*time.Millisecond, func(time.Duration) { time.Sleep(100 * time.Microsecond) })
		elapsed := time.Since(start)
		bound := limit*elapsed.Seconds() + burst
		t.Logf("admitted %d in %v, bound %.0f; longest hint %v", ld.admitted.Load(), elapsed, bound, time.Duration(ld.maxHint.Load()))
		assert.LessOrEqual(t, float64(ld.admitted.Load()), bound, "admitted <= r·t + b")
		assert.Greater(t, ld.admitted.Load(), int64(burst), "the load got its share")
		assert.LessOrEqual(t, time.Duration(ld.maxHint.Load()), maxWait+time.Second/limit,
			"no rejection says to come back later than the longest wait plus one token")

		time.Sleep(time.Second)
		assert.Equal(t, float64(burst), lim.Snapshot().Tokens, "an idle bucket is full")
		for range burst {
			require.NoError(t, lim.Execute(context.Background(), nop))
		}
	})
}

// The same load on the real clock, where a time read before a contended
// step goes stale, three times over: the count admitted stays within
// r·t + b over each run (t measured from before the bucket was built to
// after the last call), the tokens owed to waiters never exceed what the
// maximum wait allows, and no hint is absurd.
func TestWaitUnderRealContentionKeepsTheBound(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 24 goroutines for 3 × 300ms")
	}
	const limit, burst, maxWait = 200, 5, 40 * time.Millisecond
	for range 3 {
		start := time.Now()
		lim := ratelimit.New(limit, burst, ratelimit.WithMaxWait(maxWait))
		ld := hammer(lim, 24, start, 300*time.Millisecond, func(time.Duration) {})
		elapsed := time.Since(start)
		tokens := lim.Snapshot().Tokens
		bound := limit*elapsed.Seconds() + burst
		t.Logf("admitted %d in %v, bound %.1f; tokens after %.1f; longest hint %v",
			ld.admitted.Load(), elapsed, bound, tokens, time.Duration(ld.maxHint.Load()))
		assert.LessOrEqual(t, float64(ld.admitted.Load()), bound, "admitted <= r·t + b")
		assert.Greater(t, ld.admitted.Load(), int64(burst))
		assert.GreaterOrEqual(t, tokens, -limit*maxWait.Seconds(), "waiters hold at most a maximum wait of tokens")
		// A stale reading can lengthen a hint by the time it was stale; a
		// second is far beyond that and far below the debt of a leak.
		assert.Less(t, time.Duration(ld.maxHint.Load()), time.Second)
	}
}

// Without waiting, the Allow path under the same contention keeps the
// bound too.
func TestAllowUnderRealContentionKeepsTheBound(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 24 goroutines for 300ms")
	}
	const limit, burst = 2000, 5
	start := time.Now()
	lim := ratelimit.New(limit, burst)
	ld := hammer(lim, 24, start, 300*time.Millisecond, func(time.Duration) {})
	elapsed := time.Since(start)
	bound := limit*elapsed.Seconds() + burst
	t.Logf("admitted %d in %v, bound %.1f", ld.admitted.Load(), elapsed, bound)
	assert.LessOrEqual(t, float64(ld.admitted.Load()), bound, "admitted <= r·t + b")
	assert.Greater(t, ld.admitted.Load(), int64(burst))
}
