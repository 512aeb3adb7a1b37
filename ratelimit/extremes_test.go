package ratelimit_test

import (
	"context"
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"
)

func admitted(p bulwark.Policy, ctx context.Context, calls int) int {
	n := 0
	for range calls {
		if p.Execute(ctx, nop) == nil {
			n++
		}
	}
	return n
}

// A rate so low that no token comes back within the life of a process
// still has its burst, and then rejects: a token every 317 years (1e-10)
// or 31,700 years (1e-12) is not "never", and is not "always" either.
func TestTinyRatesAdmitTheirBurstAndNoMore(t *testing.T) {
	for _, c := range []struct {
		limit rate.Limit
		burst int
	}{
		{1e-10, 1}, {1e-12, 1}, {1e-10, 100}, {math.SmallestNonzeroFloat64, 3},
		{1e-7, 1}, {2.5e-10, 2}, // a token every 115 and 127 years
		{1.0 / (365 * 24 * 3600), 1000}, // one a year, bursts of 1000: 1000 years to refill
	} {
		synctest.Test(t, func(t *testing.T) {
			key := func(context.Context) string { return "k" }
			for _, p := range []bulwark.Policy{
				ratelimit.New(c.limit, c.burst),
				ratelimit.NewKeyed(c.limit, c.burst, key),
				ratelimit.New(c.limit, c.burst, ratelimit.WithMaxWait(time.Hour)),
			} {
				assert.Equal(t, c.burst, admitted(p, context.Background(), c.burst+100), "limit %v burst %d", c.limit, c.burst)
				err := p.Execute(context.Background(), nop)
				require.ErrorIs(t, err, ratelimit.ErrLimited)
				d, ok := bulwark.RetryAfter(err)
				assert.True(t, ok, "a positive rate says a token will come")
				assert.Greater(t, d, time.Hour, "and that it is far away, not %v", d)
				time.Sleep(24 * time.Hour)
				assert.ErrorIs(t, p.Execute(context.Background(), nop), ratelimit.ErrLimited, "a day later, still none")
			}
		})
	}
}

// rate.Inf ignores the burst, so New(rate.Inf, 0) is valid; a finite limit
// with no burst would reject everything for ever, so SetLimit refuses it
// and changes nothing.
func TestSetLimitRefusesAFiniteLimitWithoutABurst(t *testing.T) {
	l := ratelimit.New(rate.Inf, 0)
	err := l.SetLimit(10)
	require.EqualError(t, err, "bulwark/ratelimit: SetLimit: limit 10 needs a burst >= 1, got burst 0; call SetBurst first")
	assert.Equal(t, 1000, admitted(l, context.Background(), 1000), "still unlimited")
	assert.Equal(t, rate.Inf, l.Snapshot().Limit)

	require.NoError(t, l.SetBurst(2))
	require.NoError(t, l.SetLimit(10))
	assert.Equal(t, 2, admitted(l, context.Background(), 10), "a finite bucket that starts full")
}

func TestSetLimitAndSetBurstRejectBadValues(t *testing.T) {
	l := ratelimit.New(10, 1)
	for _, c := range []struct {
		err error
		msg string
	}{
		{l.SetLimit(rate.Limit(math.NaN())), "bulwark/ratelimit: SetLimit: limit must be >= 0 (or rate.Inf), got NaN"},
		{l.SetLimit(rate.Limit(math.Inf(-1))), "bulwark/ratelimit: SetLimit: limit must be >= 0 (or rate.Inf), got -Inf"},
		{l.SetLimit(-1e-12), "bulwark/ratelimit: SetLimit: limit must be >= 0 (or rate.Inf), got -1e-12"},
		{l.SetBurst(-1), "bulwark/ratelimit: SetBurst: burst must be >= 1 with a finite limit, got -1"},
	} {
		assert.EqualError(t, c.err, c.msg)
	}
	s := l.Snapshot()
	assert.Equal(t, rate.Limit(10), s.Limit)
	assert.Equal(t, 1, s.Burst)
	require.NoError(t, l.SetLimit(rate.Limit(math.Inf(1))), "+Inf is rate.Inf's value")
	assert.Equal(t, 100, admitted(l, context.Background(), 100))
}

func TestExtremeBurstsAndWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// A burst of MaxInt: effectively unlimited, and nothing overflows.
		l := ratelimit.New(1, math.MaxInt)
		assert.Equal(t, 10000, admitted(l, context.Background(), 10000))
		assert.Greater(t, l.Snapshot().Tokens, 1e12)
		require.NoError(t, l.SetBurst(math.MaxInt))
		require.NoError(t, l.SetLimit(1e-12))
		assert.Equal(t, 10000, admitted(l, context.Background(), 10000))
		k := ratelimit.NewKeyed(1e-12, math.MaxInt, tenant)
		assert.Equal(t, 10000, admitted(k, as("a"), 10000))

		// A limit beyond a token a nanosecond with a burst of 1.
		h := ratelimit.New(1e300, 1)
		require.NoError(t, h.Execute(context.Background(), nop))
		time.Sleep(time.Nanosecond)
		require.NoError(t, h.Execute(context.Background(), nop))

		// WithMaxWait(MaxInt64): calls wait their turn, one a second.
		w := ratelimit.New(1, 1, ratelimit.WithMaxWait(math.MaxInt64))
		start := time.Now()
		var wg sync.WaitGroup
		for range 5 {
			wg.Go(func() { assert.NoError(t, w.Execute(context.Background(), nop)) })
		}
		wg.Wait()
		assert.Equal(t, 4*time.Second, time.Since(start), "five calls of a bucket of one a second")

		// A maximum wait that cannot be reached by a rate that never
		// refills within a Duration: rejected at once, not parked.
		n := ratelimit.New(1e-12, 1, ratelimit.WithMaxWait(math.MaxInt64))
		require.NoError(t, n.Execute(context.Background(), nop))
		start = time.Now()
		err := n.Execute(context.Background(), nop)
		assert.ErrorIs(t, err, ratelimit.ErrLimited)
		assert.Zero(t, time.Since(start))
		d, _ := bulwark.RetryAfter(err)
		assert.Equal(t, time.Duration(math.MaxInt64), d, "the wait saturates")
	})
}

// The hint of a rejection is true: a caller that sleeps exactly the hint
// is admitted, whatever the limit (a whole number of nanoseconds a token or
// not).
func TestRetryAfterHintIsTrue(t *testing.T) {
	for _, limit := range []rate.Limit{1, 3, 7, 10, 333, 1e6 / 3, 3e8, 1e-3} {
		synctest.Test(t, func(t *testing.T) {
			l := ratelimit.New(limit, 2)
			k := ratelimit.NewKeyed(limit, 2, tenant)
			for _, p := range []bulwark.Policy{l, k} {
				ctx := as("a")
				for range 5 {
					for p.Execute(ctx, nop) == nil {
					}
					err := p.Execute(ctx, nop)
					d, ok := bulwark.RetryAfter(err)
					require.True(t, ok, "limit %v: %v", limit, err)
					require.Greater(t, d, time.Duration(0))
					time.Sleep(d - 1)
					assert.ErrorIs(t, p.Execute(ctx, nop), ratelimit.ErrLimited, "limit %v: not a nanosecond early", limit)
					time.Sleep(time.Nanosecond) // the last nanosecond of the hint, under synctest
					assert.NoError(t, p.Execute(ctx, nop), "limit %v: a retry after exactly %v is admitted", limit, d)
				}
			}
		})
	}
}

// A window as long as a Duration goes: the hint saturates instead of
// overflowing to a negative wait.
func TestSlidingWindowOfMaxDurationHintsAPositiveWait(t *testing.T) {
	for _, n := range []int{1, 2, math.MaxInt} {
		s := ratelimit.NewSlidingWindow(n, math.MaxInt64)
		if n == math.MaxInt {
			assert.Equal(t, 1000, admitted(s, context.Background(), 1000))
			continue
		}
		assert.Equal(t, n, admitted(s, context.Background(), n+10))
		d, ok := bulwark.RetryAfter(s.Execute(context.Background(), nop))
		require.True(t, ok)
		assert.Greater(t, d, time.Duration(math.MaxInt64/2), "n=%d", n)
	}
}
