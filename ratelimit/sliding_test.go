package ratelimit_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSlidingWindowAllowsNThenWeighsThePreviousWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := ratelimit.NewSlidingWindow(100, 10*time.Second)
		admit := func() (n int) {
			for range 200 {
				if s.Execute(context.Background(), nop) == nil {
					n++
				}
			}
			return n
		}
		assert.Equal(t, 100, admit(), "n in the first window")
		err := s.Execute(context.Background(), nop)
		assert.ErrorIs(t, err, ratelimit.ErrLimited)
		d, ok := bulwark.RetryAfter(err)
		assert.True(t, ok)
		assert.Equal(t, 10*time.Second+100*time.Millisecond, d, "the rest of this window, then 1% of the next")

		time.Sleep(15 * time.Second) // halfway through the next window: 100 × 0.5 still count
		assert.Equal(t, 50, admit())
		assert.InDelta(t, 100, s.Snapshot().Estimate, 1e-9)
	})
}

// Under steady demand above the limit, a sliding window admits n per
// window: over a simulated minute, within n of 6·n (the documented bound).
func TestSlidingWindowAccuracyOverAMinute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 100
		s := ratelimit.NewSlidingWindow(n, 10*time.Second)
		admitted := 0
		for range 60000 { // a call every millisecond for 60s
			if s.Execute(context.Background(), nop) == nil {
				admitted++
			}
			time.Sleep(time.Millisecond)
		}
		assert.InDelta(t, 6*n, admitted, n)
		t.Logf("admitted %d over 60s at %d per 10s", admitted, n)
		assert.Equal(t, int64(60000-admitted), s.Snapshot().Rejected)
	})
}

func TestSlidingWindowForgetsAfterTwoWindows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := ratelimit.NewSlidingWindow(2, time.Second)
		require.NoError(t, s.Execute(context.Background(), nop))
		require.NoError(t, s.Execute(context.Background(), nop))
		require.Error(t, s.Execute(context.Background(), nop))
		time.Sleep(2 * time.Second)
		require.NoError(t, s.Execute(context.Background(), nop))
		require.NoError(t, s.Execute(context.Background(), nop))
	})
}

// A limiter built outside a testing/synctest bubble and used inside it
// reads times before its epoch (the bubble's clock starts in 2000): its
// windows move on as usual.
func TestSlidingWindowCountsTimesBeforeItsEpoch(t *testing.T) {
	s := ratelimit.NewSlidingWindow(2, time.Second)
	synctest.Test(t, func(t *testing.T) {
		require.NoError(t, s.Execute(context.Background(), nop))
		require.NoError(t, s.Execute(context.Background(), nop))
		require.ErrorIs(t, s.Execute(context.Background(), nop), ratelimit.ErrLimited)
		time.Sleep(2 * time.Second)
		assert.NoError(t, s.Execute(context.Background(), nop), "two windows later the calls are forgotten")
		assert.InDelta(t, 1, s.Snapshot().Estimate, 1e-9)
	})
}

// A call is allowed if it fits: previous × overlap + current + 1 <= n.
func TestSlidingWindowAdmitsACallThatFits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := ratelimit.NewSlidingWindow(2, time.Second)
		require.NoError(t, s.Execute(context.Background(), nop))
		time.Sleep(1500 * time.Millisecond) // the call weighs 0.5 now
		require.NoError(t, s.Execute(context.Background(), nop), "0.5 + 0 + 1 <= 2")
		assert.InDelta(t, 1.5, s.Snapshot().Estimate, 1e-9)
		assert.ErrorIs(t, s.Execute(context.Background(), nop), ratelimit.ErrLimited, "1.5 + 1 > 2, though 1.5 < 2")
	})
}

// The worst case: the previous window's calls all at its end. A trailing
// window as long as the limiter's then holds up to 2n calls, and no more.
func TestSlidingWindowWorstCaseIsTwiceN(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 100
		s := ratelimit.NewSlidingWindow(n, time.Second)
		time.Sleep(time.Second - time.Millisecond)
		var admitted []time.Duration
		start := time.Now()
		for range n { // n calls in the first window's last millisecond
			require.NoError(t, s.Execute(context.Background(), nop))
			admitted = append(admitted, 0)
		}
		for range 2000 { // then a call every millisecond
			time.Sleep(time.Millisecond)
			if s.Execute(context.Background(), nop) == nil {
				admitted = append(admitted, time.Since(start))
			}
		}
		worst := 0
		for i := range admitted {
			j := i
			for j < len(admitted) && admitted[j]-admitted[i] < time.Second {
				j++
			}
			worst = max(worst, j-i)
		}
		t.Logf("the most calls in a trailing second: %d, n = %d", worst, n)
		assert.LessOrEqual(t, worst, 2*n)
		assert.Greater(t, worst, 3*n/2, "the weighting lets more than n through")
	})
}
