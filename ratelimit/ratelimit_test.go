package ratelimit_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/time/rate"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func nop(context.Context) error { return nil }

func TestBurstThenRejectionWithAHint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev otest.Events
		l := ratelimit.New(10, 3, ratelimit.WithObserver(ev.Observe))
		for range 3 {
			require.NoError(t, l.Execute(context.Background(), nop))
		}
		called := false
		err := l.Execute(context.Background(), func(context.Context) error { called = true; return nil })
		assert.False(t, called)
		assert.ErrorIs(t, err, ratelimit.ErrLimited)
		assert.ErrorIs(t, err, bulwark.ErrRejected)
		d, ok := bulwark.RetryAfter(err)
		assert.True(t, ok)
		assert.Equal(t, 100*time.Millisecond, d, "one token every 100ms")
		require.Len(t, ev.List(), 1)
		assert.Equal(t, bulwark.EventRejected, ev.List()[0].Type)

		time.Sleep(d)
		require.NoError(t, l.Execute(context.Background(), nop), "the hint was right")
		assert.Equal(t, int64(1), l.Snapshot().Rejected)
	})
}

// Over a simulated minute, a bucket of limit r and burst b admits exactly
// r·t + b calls of a demand that always exceeds it.
func TestTokenBucketAdmitsLimitTimesTimePlusBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := ratelimit.New(10, 5)
		admitted := 0
		for i := 0; i <= 60000; i++ { // a call every millisecond, 0 to 60s inclusive
			if l.Execute(context.Background(), nop) == nil {
				admitted++
			}
			time.Sleep(time.Millisecond)
		}
		assert.Equal(t, 10*60+5, admitted)
	})
}

func TestMaxWaitWaitsForItsToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := ratelimit.New(10, 1, ratelimit.WithMaxWait(150*time.Millisecond))
		require.NoError(t, l.Execute(context.Background(), nop))
		start := time.Now()
		require.NoError(t, l.Execute(context.Background(), nop))
		assert.Equal(t, 100*time.Millisecond, time.Since(start))

		// With a token a second, the next is a second away: past the maximum.
		l2 := ratelimit.New(1, 1, ratelimit.WithMaxWait(150*time.Millisecond))
		require.NoError(t, l2.Execute(context.Background(), nop))
		start = time.Now()
		err := l2.Execute(context.Background(), nop)
		assert.ErrorIs(t, err, ratelimit.ErrLimited)
		assert.Zero(t, time.Since(start), "a wait past the maximum is rejected at once")
	})
}

func TestWaitNeverOutlivesTheCallersDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := ratelimit.New(1, 1, ratelimit.WithMaxWait(time.Minute))
		require.NoError(t, l.Execute(context.Background(), nop))
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := l.Execute(ctx, nop)
		assert.ErrorIs(t, err, ratelimit.ErrLimited)
		assert.Zero(t, time.Since(start), "the token comes after the deadline: no wait")
	})
}

func TestCancelledWaitGivesItsTokenBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := ratelimit.New(1, 1, ratelimit.WithMaxWait(time.Minute))
		require.NoError(t, l.Execute(context.Background(), nop))
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		assert.Equal(t, context.Canceled, l.Execute(ctx, nop))
		assert.InDelta(t, 0.1, l.Snapshot().Tokens, 1e-9, "the reserved token came back: 0.1 refilled so far")
	})
}

func TestLimitsChangeAtRunTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := ratelimit.New(1, 1)
		require.NoError(t, l.Execute(context.Background(), nop))
		assert.ErrorIs(t, l.Execute(context.Background(), nop), ratelimit.ErrLimited)
		require.NoError(t, l.SetLimit(1000))
		require.NoError(t, l.SetBurst(2))
		time.Sleep(2 * time.Millisecond)
		require.NoError(t, l.Execute(context.Background(), nop))
		require.NoError(t, l.Execute(context.Background(), nop))
		assert.EqualError(t, l.SetLimit(-1), "bulwark/ratelimit: SetLimit: limit must be >= 0 (or rate.Inf), got -1")
		assert.EqualError(t, l.SetBurst(0), "bulwark/ratelimit: SetBurst: burst must be >= 1 with a finite limit, got 0")
		s := l.Snapshot()
		assert.Equal(t, rate.Limit(1000), s.Limit, "a rejected change changes nothing")
		assert.Equal(t, 2, s.Burst)
	})
}

func TestInfiniteLimitAllowsEverything(t *testing.T) {
	l := ratelimit.New(rate.Inf, 0)
	for range 1000 {
		require.NoError(t, l.Execute(context.Background(), nop))
	}
}

func TestZeroLimitRejectsWithoutAHint(t *testing.T) {
	l := ratelimit.New(0, 1)
	require.NoError(t, l.Execute(context.Background(), nop))
	err := l.Execute(context.Background(), nop)
	assert.ErrorIs(t, err, ratelimit.ErrLimited)
	_, ok := bulwark.RetryAfter(err)
	assert.False(t, ok, "no token will ever come")
}

func TestRejectionsLandAsMetrics(t *testing.T) {
	m := otest.NewMeter()
	l := ratelimit.New(1, 1, ratelimit.WithName("api"), ratelimit.WithMeterProvider(m))
	require.NoError(t, l.Execute(context.Background(), nop))
	require.Error(t, l.Execute(context.Background(), nop))
	m.AssertEvents(t, otest.EventPoint("", "ratelimit", "api", "rejected", 1))
}

func TestExecuteRejectsNilArguments(t *testing.T) {
	for _, p := range []bulwark.Policy{
		ratelimit.New(1, 1), ratelimit.NewSlidingWindow(1, time.Second),
		ratelimit.NewKeyed(1, 1, func(context.Context) string { return "" }),
	} {
		assert.ErrorIs(t, p.Execute(context.Background(), nil), bulwark.ErrNilFunc)
		//lint:ignore SA1012 a nil context is the point of the test
		assert.ErrorIs(t, p.Execute(nil, nop), bulwark.ErrNilContext)
	}
}

func TestBadConfigurationPanicsWithItsName(t *testing.T) {
	key := func(context.Context) string { return "" }
	cases := map[string]func(){
		"bulwark/ratelimit: New: limit must be >= 0 (or rate.Inf), got -1":            func() { ratelimit.New(-1, 1) },
		"bulwark/ratelimit: New: limit must be >= 0 (or rate.Inf), got NaN":           func() { ratelimit.New(rate.Limit(nan()), 1) },
		"bulwark/ratelimit: New: burst must be >= 1 with a finite limit, got 0":       func() { ratelimit.New(10, 0) },
		"bulwark/ratelimit: NewKeyed: burst must be >= 1 with a finite limit, got -1": func() { ratelimit.NewKeyed(10, -1, key) },
		"bulwark/ratelimit: NewKeyed: key function must not be nil":                   func() { ratelimit.NewKeyed(10, 1, nil) },
		"bulwark/ratelimit: NewSlidingWindow: n must be >= 1, got 0":                  func() { ratelimit.NewSlidingWindow(0, time.Second) },
		"bulwark/ratelimit: NewSlidingWindow: window must be > 0, got -1s":            func() { ratelimit.NewSlidingWindow(1, -time.Second) },
		"bulwark/ratelimit: WithMaxWait: duration must be > 0, got 0s":                func() { ratelimit.WithMaxWait(0) },
		"bulwark/ratelimit: WithMaxKeys: n must be >= 1, got 0":                       func() { ratelimit.WithMaxKeys(0) },
		"bulwark/ratelimit: WithIdleExpiry: duration must be > 0, got -1s":            func() { ratelimit.WithIdleExpiry(-time.Second) },
		"bulwark/ratelimit: WithName: name must not be empty":                         func() { ratelimit.WithName("") },
		"bulwark/ratelimit: WithMeterProvider: provider must not be nil":              func() { ratelimit.WithMeterProvider(nil) },
		"bulwark/ratelimit: WithObserver: observer must not be nil":                   func() { ratelimit.WithObserver(nil) },
	}
	for msg, f := range cases {
		assert.PanicsWithValue(t, msg, f)
	}
	assert.NotNil(t, ratelimit.New(1, 1, nil), "nil options are ignored")
}

// A cancelled wait gives its token back only when no later call reserved
// after it; otherwise its turn passes unused: the bucket may admit one call
// fewer, never one more.
func TestCancelledWaitBehindAnotherPassesItsTurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := ratelimit.New(10, 1, ratelimit.WithMaxWait(time.Second))
		require.NoError(t, l.Execute(context.Background(), nop))
		ctx, cancel := context.WithCancel(context.Background())
		first := make(chan error)
		go func() { first <- l.Execute(ctx, nop) }() // due at 100ms
		synctest.Wait()
		second := make(chan error)
		go func() { second <- l.Execute(context.Background(), nop) }() // due at 200ms
		synctest.Wait()
		time.Sleep(50 * time.Millisecond)
		cancel()
		assert.Equal(t, context.Canceled, <-first)
		assert.InDelta(t, -1.5, l.Snapshot().Tokens, 1e-9, "the second still holds the 200ms turn; the 100ms one is lost")
		start := time.Now()
		assert.NoError(t, <-second)
		assert.Equal(t, 150*time.Millisecond, time.Since(start), "the second keeps its turn")
	})
}

func TestSetLimitAndSetBurstKeepTheTokens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := ratelimit.New(10, 4)
		assert.Equal(t, 2, admitted(l, context.Background(), 2))
		require.NoError(t, l.SetLimit(1))
		assert.InDelta(t, 2, l.Snapshot().Tokens, 1e-9, "two tokens, now refilling at one a second")
		require.NoError(t, l.SetBurst(1))
		assert.InDelta(t, 1, l.Snapshot().Tokens, 1e-9, "capped at the new burst")
		require.NoError(t, l.SetBurst(10))
		time.Sleep(3 * time.Second)
		assert.InDelta(t, 4, l.Snapshot().Tokens, 1e-9)

		require.NoError(t, l.SetLimit(0))
		assert.Equal(t, 4, admitted(l, context.Background(), 10), "a zero limit hands out what is left")
		require.NoError(t, l.SetLimit(rate.Inf))
		assert.Equal(t, 100, admitted(l, context.Background(), 100))
		require.NoError(t, l.SetLimit(1))
		assert.Equal(t, 10, admitted(l, context.Background(), 100), "back from rate.Inf, the bucket is full")
	})
}

// Settings changed while calls race through the bucket: no call is lost
// in a replaced bucket, and once the last change is made the bucket obeys
// it alone.
func TestSetLimitUnderContention(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := ratelimit.New(1000, 10, ratelimit.WithMaxWait(5*time.Millisecond))
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					if l.Execute(context.Background(), nop) != nil {
						time.Sleep(time.Millisecond)
					}
				}
			})
		}
		for i := range 200 {
			require.NoError(t, l.SetLimit(rate.Limit(100+i%3*400)))
			require.NoError(t, l.SetBurst(1+i%7))
			time.Sleep(time.Millisecond)
		}
		require.NoError(t, l.SetLimit(0))
		require.NoError(t, l.SetBurst(1))
		time.Sleep(10 * time.Millisecond) // waiters of the old settings are done
		close(stop)
		wg.Wait()
		s := l.Snapshot()
		assert.Equal(t, rate.Limit(0), s.Limit)
		assert.Equal(t, 1, s.Burst)
		assert.LessOrEqual(t, s.Tokens, 1.0)
		assert.LessOrEqual(t, admitted(l, context.Background(), 10), 1)
	})
}

func TestRejectionsMatchErrLimitedAndErrRejected(t *testing.T) {
	for name, p := range map[string]bulwark.Policy{
		"bucket":  ratelimit.New(1, 1),
		"zero":    ratelimit.New(0, 1),
		"keyed":   ratelimit.NewKeyed(1, 1, tenant),
		"sliding": ratelimit.NewSlidingWindow(1, time.Second),
		"tiny":    ratelimit.New(1e-12, 1),
	} {
		require.NoError(t, p.Execute(as("a"), nop), name)
		err := p.Execute(as("a"), nop)
		assert.ErrorIs(t, err, ratelimit.ErrLimited, name)
		assert.ErrorIs(t, err, bulwark.ErrRejected, name)
		assert.NotErrorIs(t, err, ratelimit.ErrZeroValue, name)
	}
}

func TestAllowedCallsAllocateNothing(t *testing.T) {
	ctx := as("a")
	for name, p := range map[string]bulwark.Policy{
		"bucket":             ratelimit.New(1e12, 1<<30),
		"waiting bucket":     ratelimit.New(1e12, 1<<30, ratelimit.WithMaxWait(time.Second)),
		"unlimited":          ratelimit.New(rate.Inf, 0),
		"keyed":              ratelimit.NewKeyed(1e12, 1<<30, tenant),
		"sliding":            ratelimit.NewSlidingWindow(1<<62, time.Hour),
		"bucket in pipeline": bulwark.New(ratelimit.New(1e12, 1<<30)),
		"keyed in pipeline":  bulwark.New(ratelimit.NewKeyed(1e12, 1<<30, tenant)),
	} {
		require.NoError(t, p.Execute(ctx, nop))
		assert.Zero(t, testing.AllocsPerRun(1000, func() { _ = p.Execute(ctx, nop) }), name)
	}
}
