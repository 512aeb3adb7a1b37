package redislimit_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/internal/redistest"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/ratelimit/redislimit"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// slack is what a loaded machine may add to a bound measured on real time:
// far below the 10s a client would wait for a hung server unbounded.
const slack = 400 * time.Millisecond

// hungClient is a client whose own timeouts would wait 10s for a hung
// server: any shorter wait is the limiter's doing.
func hungClient(ctxTimeouts bool) func(*redis.Options) {
	return func(o *redis.Options) {
		o.ReadTimeout, o.WriteTimeout = 10*time.Second, 10*time.Second
		o.ContextTimeoutEnabled = ctxTimeouts
	}
}

func timed(f func()) time.Duration {
	start := time.Now()
	f()
	return time.Since(start)
}

func TestHungServerBoundsEveryDecision(t *testing.T) {
	s := redistest.Start(t)
	for _, ctxTimeouts := range []bool{false, true} {
		c := s.Client(t, hungClient(ctxTimeouts))
		var ev otest.Events
		l := redislimit.New(c, hourly, 1000, redislimit.WithTimeout(300*time.Millisecond),
			redislimit.WithFailMode(redislimit.FailOpen), redislimit.WithObserver(ev.Observe))
		caller := redislimit.New(c, hourly, 1000, redislimit.WithTimeout(time.Second),
			redislimit.WithPrefix("caller:"), redislimit.WithFailMode(redislimit.FailOpen))
		ctx := context.Background()
		require.NoError(t, l.Execute(ctx, nop))
		require.NoError(t, caller.Execute(ctx, nop))

		s.Pause()
		var r redislimit.Result
		var err error
		d := timed(func() { r, err = l.AllowN(ctx, "", 1) })
		require.NoError(t, err)
		assert.True(t, r.Allowed && r.Degraded, "FailOpen admits while Redis hangs")
		assert.Less(t, d, 300*time.Millisecond+slack, "bounded by the Redis timeout (ContextTimeoutEnabled=%v)", ctxTimeouts)
		assert.GreaterOrEqual(t, d, 300*time.Millisecond, "the decision waited for the timeout, no longer")
		t.Logf("ContextTimeoutEnabled=%v: hung decision returned after %v (timeout 300ms)", ctxTimeouts, d)

		d = timed(func() { r, err = l.AllowN(ctx, "", 1) })
		require.NoError(t, err)
		assert.True(t, r.Degraded)
		assert.Less(t, d, 150*time.Millisecond, "a degraded limiter decides at once, without waiting 300ms for Redis again")

		short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
		d = timed(func() { err = caller.Execute(short, nop) })
		cancel()
		assert.ErrorIs(t, err, context.DeadlineExceeded, "the caller's deadline came before the 1s Redis timeout")
		assert.Less(t, d, 30*time.Millisecond+slack, "bounded by the caller's deadline (ContextTimeoutEnabled=%v)", ctxTimeouts)
		assert.False(t, caller.Degraded(), "the caller's own deadline says nothing of Redis")
		t.Logf("ContextTimeoutEnabled=%v: caller deadline 30ms, returned after %v", ctxTimeouts, d)
		s.Resume()

		require.Eventually(t, func() bool { _ = l.Execute(ctx, nop); return !l.Degraded() },
			5*time.Second, 10*time.Millisecond, "recovers by itself once Redis answers")
		var types []bulwark.EventType
		for _, e := range ev.List() {
			types = append(types, e.Type)
		}
		assert.Equal(t, []bulwark.EventType{redislimit.EventDegraded, redislimit.EventRecovered}, types)
		assert.Equal(t, "degraded", redislimit.EventDegraded.String())
		assert.Equal(t, "recovered", redislimit.EventRecovered.String())
	}
}

func TestFailModes(t *testing.T) {
	s := redistest.Start(t)
	ctx := context.Background()
	build := func(mode redislimit.FailMode, opts ...redislimit.Option) *redislimit.Limiter {
		return redislimit.New(s.Client(t), hourly, 4, append(opts, redislimit.WithFailMode(mode),
			redislimit.WithTimeout(50*time.Millisecond))...)
	}
	open, closed := build(redislimit.FailOpen), build(redislimit.FailClosed)
	local := build(redislimit.FailLocal, redislimit.WithLocalShare(0.5))
	s.Kill()

	for range 10 {
		require.NoError(t, open.Execute(ctx, nop))
	}
	err := closed.Execute(ctx, nop)
	require.ErrorIs(t, err, ratelimit.ErrLimited)
	require.ErrorIs(t, err, bulwark.ErrRejected)
	assert.Contains(t, err.Error(), "redis unavailable")
	err = closed.Execute(ctx, nop)
	require.ErrorIs(t, err, ratelimit.ErrLimited, "still closed while degraded, without asking")

	admitted := 0
	for range 10 {
		if local.Execute(ctx, nop) == nil {
			admitted++
		}
	}
	assert.Equal(t, 2, admitted, "FailLocal keeps half of the burst of 4 in the instance")
	for _, l := range []*redislimit.Limiter{open, closed, local} {
		assert.Equal(t, "degraded", l.Status().State)
	}
	m := otest.NewMeter()
	g := redislimit.New(s.Client(t), hourly, 1, redislimit.WithMeterProvider(m), redislimit.WithName("g"))
	_ = g.Execute(ctx, nop)
	assertDegradedGauge(t, m, 1)
}

// TestKillDrill kills redis-server while goroutines decide, under each
// fail mode: every call returns within its deadline, and once a new
// server starts on the same port the limiter decides in Redis again.
func TestKillDrill(t *testing.T) {
	s := redistest.Start(t)
	const deadline = 200 * time.Millisecond
	for _, mode := range []redislimit.FailMode{redislimit.FailOpen, redislimit.FailClosed, redislimit.FailLocal} {
		t.Run(mode.String(), func(t *testing.T) {
			l := redislimit.New(s.Client(t), 1000, 100, redislimit.WithFailMode(mode),
				redislimit.WithTimeout(50*time.Millisecond), redislimit.WithPrefix("drill:"+mode.String()+":"))
			var (
				calls, late atomic.Int64
				worst       atomic.Int64
				stop        atomic.Bool
				wg          sync.WaitGroup
			)
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 20000 && !stop.Load(); i++ {
						ctx, cancel := context.WithTimeout(context.Background(), deadline)
						d := timed(func() { _ = l.Execute(ctx, nop) })
						cancel()
						calls.Add(1)
						if d > deadline {
							late.Add(1)
						}
						for w := worst.Load(); int64(d) > w && !worst.CompareAndSwap(w, int64(d)); w = worst.Load() {
						}
						time.Sleep(time.Millisecond)
					}
				}()
			}
			time.Sleep(100 * time.Millisecond)
			s.Kill()
			time.Sleep(300 * time.Millisecond)
			require.True(t, l.Degraded())
			s.Restart(t)
			require.Eventually(t, func() bool { return !l.Degraded() }, 5*time.Second, 10*time.Millisecond)
			stop.Store(true)
			wg.Wait()
			t.Logf("%s: %d calls, worst %v, %d past the %v deadline", mode, calls.Load(), time.Duration(worst.Load()), late.Load(), deadline)
			// Late calls are logged: a loaded machine may not run a
			// goroutine for a while after its deadline. What would show
			// a call waiting on the dead server is a call later than that.
			assert.Less(t, time.Duration(worst.Load()), deadline+slack, "every call returns within its deadline")

			// The new server on the same port limits again: a fresh bucket,
			// decided in Redis (asked with a timeout a loaded machine
			// cannot reach, so that no decision falls to the fail mode).
			check := redislimit.New(s.Client(t), hourly, 100, steady, redislimit.WithPrefix("drill:"+mode.String()+":"))
			r, err := check.AllowN(context.Background(), "after", 100)
			require.NoError(t, err)
			assert.False(t, r.Degraded)
			r, err = check.AllowN(context.Background(), "after", 1)
			require.ErrorIs(t, err, ratelimit.ErrLimited)
			assert.False(t, r.Degraded)
		})
	}
}
