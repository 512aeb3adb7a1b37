package redisstore_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/breaker/redisstore"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/internal/redistest"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var errDep = errors.New("dependency failed")

func fail(context.Context) error { return errDep }
func nop(context.Context) error  { return nil }

// slack is what a loaded machine may add to a bound measured on real time.
const slack = 400 * time.Millisecond

// steady is a timeout no round trip of a loaded machine reaches, for the
// tests of what the fleet shares: a timeout there leaves a breaker to
// decide alone.
const steady = 5 * time.Second

const interval = 200 * time.Millisecond

// fleet builds n instances, each with its own client, store and breaker
// named "inventory".
// Their stores' round trips time out after timeout.
func fleet(t *testing.T, s *redistest.Server, n int, timeout time.Duration, opts ...breaker.Option) ([]*breaker.Breaker, []*redisstore.Store, *otest.Events) {
	t.Helper()
	var ev otest.Events
	var brs []*breaker.Breaker
	var sts []*redisstore.Store
	for range n {
		st := redisstore.New(s.Client(t), redisstore.WithSyncInterval(interval), redisstore.WithObserver(ev.Observe),
			redisstore.WithTimeout(timeout))
		t.Cleanup(func() { _ = st.Close() })
		sts = append(sts, st)
		brs = append(brs, breaker.New(append([]breaker.Option{breaker.WithName("inventory"), breaker.WithStore(st)}, opts...)...))
	}
	return brs, sts, &ev
}

func TestBadInput(t *testing.T) {
	var nilClient *redis.Client
	assert.PanicsWithValue(t, "bulwark/redisstore: New: client must not be nil", func() { redisstore.New(nil) })
	assert.PanicsWithValue(t, "bulwark/redisstore: New: client must not be nil", func() { redisstore.New(nilClient) })
	assert.PanicsWithValue(t, "bulwark/redisstore: WithPrefix: prefix must not be empty", func() { redisstore.WithPrefix("") })
	assert.PanicsWithValue(t, "bulwark/redisstore: WithSyncInterval: interval must be >= 1ms, got 0s", func() { redisstore.WithSyncInterval(0) })
	assert.PanicsWithValue(t, "bulwark/redisstore: WithTimeout: timeout must be > 0, got -1s", func() { redisstore.WithTimeout(-time.Second) })
	assert.PanicsWithValue(t, "bulwark/breaker: WithStore: store must not be nil", func() { breaker.WithStore((*redisstore.Store)(nil)) })
}

// A sync interval shorter than a Redis round trip buys no fresher state:
// the ticker would fire faster than syncs end and the store would sync
// back to back, a busy loop against Redis. Below MinSyncInterval it is
// rejected at construction.
func TestSyncIntervalHasALowerBound(t *testing.T) {
	require.Equal(t, time.Millisecond, redisstore.MinSyncInterval)
	for _, d := range []time.Duration{time.Nanosecond, time.Microsecond, redisstore.MinSyncInterval - 1, -time.Second} {
		assert.PanicsWithValue(t, "bulwark/redisstore: WithSyncInterval: interval must be >= 1ms, got "+d.String(),
			func() { redisstore.WithSyncInterval(d) })
	}
	assert.NotPanics(t, func() { redisstore.WithSyncInterval(redisstore.MinSyncInterval) })
}

func TestZeroStoreSharesNothing(t *testing.T) {
	var st redisstore.Store
	b := breaker.New(breaker.WithName("x"), breaker.WithStore(&st))
	for range 5 {
		_ = b.Execute(context.Background(), fail)
	}
	assert.Equal(t, breaker.Open, b.State())
	_, err := st.AcquireProbe(context.Background(), "x", 1, 1, time.Second)
	assert.Error(t, err)
	assert.Equal(t, bulwark.Status{Kind: "redisstore", State: "ok"}, st.Status())
	assert.NoError(t, st.Close())
}

// TestFailuresThroughOneOpenAll: three breakers on three clients; the
// failures of one open all three within one sync interval.
func TestFailuresThroughOneOpenAll(t *testing.T) {
	s := redistest.Start(t)
	brs, _, _ := fleet(t, s, 3, steady, breaker.WithOpenDuration(time.Minute))
	ctx := context.Background()
	for _, b := range brs {
		require.NoError(t, b.Execute(ctx, nop))
	}
	// Past the stores' first syncs, which Watch starts at once: from here
	// the others learn of the opening at their next periodic sync.
	time.Sleep(interval)
	for range 5 {
		_ = brs[0].Execute(ctx, fail)
	}
	opened := time.Now()
	require.Equal(t, breaker.Open, brs[0].State())
	var lag [3]time.Duration
	for i, b := range brs[1:] {
		require.Eventually(t, func() bool { return b.State() == breaker.Open }, 5*time.Second, time.Millisecond)
		lag[i+1] = time.Since(opened)
	}
	t.Logf("shared opening reached the others after %v and %v (sync interval %v)", lag[1], lag[2], interval)
	for _, d := range lag[1:] {
		assert.Less(t, d, interval+slack)
	}
	for _, b := range brs[1:] {
		err := b.Execute(ctx, nop)
		require.ErrorIs(t, err, breaker.ErrOpen, "the others reject too")
		d, ok := bulwark.RetryAfter(err)
		require.True(t, ok)
		assert.InDelta(t, time.Minute.Seconds(), d.Seconds(), 2, "for the time the opening has left")
	}
}

// TestFleetSendsTheConfiguredProbes: after a shared opening, the three
// half-open breakers send one probe between them, and its success closes
// all three.
func TestFleetSendsTheConfiguredProbes(t *testing.T) {
	s := redistest.Start(t)
	brs, _, _ := fleet(t, s, 3, steady, breaker.WithOpenDuration(500*time.Millisecond))
	ctx := context.Background()
	for _, b := range brs {
		require.NoError(t, b.Execute(ctx, nop))
	}
	for range 5 {
		_ = brs[0].Execute(ctx, fail)
	}
	for _, b := range brs {
		require.Eventually(t, func() bool { return b.State() == breaker.Open }, 5*time.Second, time.Millisecond)
	}
	// brs[0] learns its opening's number at the next sync, before its
	// open period ends.
	for _, b := range brs {
		require.Eventually(t, func() bool { return b.State() == breaker.HalfOpen }, 5*time.Second, time.Millisecond)
	}
	release := make(chan struct{})
	var admitted, rejected atomic.Int64
	var wg sync.WaitGroup
	for _, b := range brs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := b.Execute(ctx, func(context.Context) error { admitted.Add(1); <-release; return nil })
			if errors.Is(err, breaker.ErrOpen) {
				rejected.Add(1)
			}
		}()
	}
	require.Eventually(t, func() bool { return rejected.Load() == 2 }, 5*time.Second, time.Millisecond)
	close(release)
	wg.Wait()
	assert.EqualValues(t, 1, admitted.Load(), "one probe for the fleet")
	for _, b := range brs {
		require.Eventually(t, func() bool { return b.State() == breaker.Closed }, 5*time.Second, time.Millisecond,
			"the probe's success closes every instance")
	}
}

// TestRedisStoppedBreakersDecideAlone: with Redis stopped, each breaker
// keeps deciding on its own, and the stores report it.
func TestRedisStoppedBreakersDecideAlone(t *testing.T) {
	s := redistest.Start(t)
	brs, sts, ev := fleet(t, s, 3, 100*time.Millisecond, breaker.WithOpenDuration(time.Minute))
	ctx := context.Background()
	s.Pause()
	defer s.Resume()
	start := time.Now()
	for range 5 {
		_ = brs[0].Execute(ctx, fail)
	}
	assert.Less(t, time.Since(start), slack, "no call waits for Redis")
	assert.Equal(t, breaker.Open, brs[0].State(), "the breaker still opens on its own outcomes")
	require.NoError(t, brs[1].Execute(ctx, nop), "the others keep admitting")
	for _, st := range sts {
		require.Eventually(t, st.Degraded, 5*time.Second, 5*time.Millisecond)
		assert.Equal(t, "degraded", st.Status().State)
	}
	found := false
	for _, e := range ev.List() {
		if e.Type == redisstore.EventDegraded {
			found = true
			assert.Equal(t, "redisstore", e.Policy)
			assert.Error(t, e.Err)
		}
	}
	assert.True(t, found, "the stores report that the breakers decide alone")

	s.Resume()
	for _, st := range sts {
		require.Eventually(t, func() bool { return !st.Degraded() }, 5*time.Second, 5*time.Millisecond)
	}
	for _, b := range brs[1:] {
		require.Eventually(t, func() bool { return b.State() == breaker.Open }, 5*time.Second, time.Millisecond,
			"the opening published while Redis hung is shared once it answers")
	}
}

func TestClosedPathWithRedisStoreAllocatesNothingAndAsksNothing(t *testing.T) {
	s := redistest.Start(t)
	brs, _, _ := fleet(t, s, 1, steady)
	ctx := context.Background()
	require.NoError(t, brs[0].Execute(ctx, nop))
	time.Sleep(2 * interval) // the first sync happened
	s.ResetStats(t)
	assert.Zero(t, testing.AllocsPerRun(10000, func() { _ = brs[0].Execute(ctx, nop) }))
	st := s.CommandStats(t)
	assert.Less(t, st["evalsha"], int64(10), "only the store's syncs reach Redis, never a call: %v", st)
}

func TestCloseStopsTheGoroutine(t *testing.T) {
	s := redistest.Start(t)
	st := redisstore.New(s.Client(t))
	require.NoError(t, st.Close())
	require.NoError(t, st.Close())
	st.Publish("x", breaker.Transition{State: breaker.Open, OpenFor: time.Second})
	_, err := st.AcquireProbe(context.Background(), "x", 1, 1, time.Second)
	assert.Error(t, err, "a closed store leaves the decision to the breaker")
}

// TestCallerDeadlinesOnAHungServerDegrade: a probe's request that the
// caller's deadline ends, shorter than the store's timeout, counts as
// Redis not answering: the store is degraded, and the next request
// returns at once.
func TestCallerDeadlinesOnAHungServerDegrade(t *testing.T) {
	s := redistest.Start(t)
	st := redisstore.New(s.Client(t), redisstore.WithTimeout(time.Second), redisstore.WithSyncInterval(time.Hour))
	defer st.Close()
	ctx := context.Background()
	_, err := st.AcquireProbe(ctx, "x", 1, 1, time.Second)
	require.NoError(t, err)
	s.Pause()
	defer s.Resume()
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	_, err = st.AcquireProbe(short, "x", 1, 1, time.Second)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.True(t, st.Degraded(), "Redis did not answer within the caller's deadline")
}

// TestAnOpeningQueuedDuringAnOutageKeepsItsEnd: a transition queued while
// Redis hangs is written, once it answers, with the time its opening has
// left then, and not at all if the opening has passed.
func TestAnOpeningQueuedDuringAnOutageKeepsItsEnd(t *testing.T) {
	s := redistest.Start(t)
	c := s.Client(t)
	st := redisstore.New(s.Client(t), redisstore.WithSyncInterval(20*time.Millisecond),
		redisstore.WithTimeout(100*time.Millisecond))
	defer st.Close()
	defer st.Watch("other", func(breaker.Transition) {})() // a read each sync, which tells when Redis answers
	ctx := context.Background()
	require.Eventually(t, func() bool { return s.CommandStats(t)["evalsha"] > 0 }, 5*time.Second, time.Millisecond)

	s.Pause()
	st.Publish("short", breaker.Transition{State: breaker.Open, OpenFor: 200 * time.Millisecond, Reason: breaker.ReasonConsecutiveFailures})
	st.Publish("long", breaker.Transition{State: breaker.Open, OpenFor: time.Minute, Reason: breaker.ReasonConsecutiveFailures})
	const outage = 400 * time.Millisecond
	time.Sleep(outage) // the outage outlasts the short opening
	s.Resume()
	require.Eventually(t, func() bool { return !st.Degraded() && s.CommandStats(t)["evalsha"] > 0 }, 5*time.Second, time.Millisecond)
	require.Eventually(t, func() bool { return c.Exists(ctx, "bulwark:breaker:{long}").Val() == 1 }, 5*time.Second, time.Millisecond)

	assert.Zero(t, c.Exists(ctx, "bulwark:breaker:{short}").Val(), "an opening that passed during the outage is not shared")
	until, err := c.HGet(ctx, "bulwark:breaker:{long}", "until").Int64()
	require.NoError(t, err)
	now, err := c.Time(ctx).Result()
	require.NoError(t, err)
	left := time.Duration(until-now.UnixMicro()) * time.Microsecond
	t.Logf("an opening of 1m queued for %v was shared with %v left", outage, left)
	assert.LessOrEqual(t, left, time.Minute-outage, "the opening kept its end; it did not start again when written")
}

// TestManyBreakersOpeningTogetherFitTheTimeout: every round trip of a
// sync is bounded by the timeout on its own, so that thousands of
// breakers opening together, and watched together, are written and read
// without the store taking Redis to be away.
func TestManyBreakersOpeningTogetherFitTheTimeout(t *testing.T) {
	s := redistest.Start(t)
	c := s.Client(t)
	var ev otest.Events
	st := redisstore.New(s.Client(t), redisstore.WithSyncInterval(50*time.Millisecond), redisstore.WithObserver(ev.Observe))
	defer st.Close()
	const n = 10000
	var delivered atomic.Int64
	for i := range n {
		name := strconv.Itoa(i)
		defer st.Watch(name, func(breaker.Transition) { delivered.Add(1) })()
	}
	for i := range n {
		st.Publish(strconv.Itoa(i), breaker.Transition{State: breaker.Open, OpenFor: time.Minute, Reason: breaker.ReasonConsecutiveFailures})
	}
	ctx := context.Background()
	require.Eventually(t, func() bool { return c.DBSize(ctx).Val() == n && delivered.Load() == n }, 20*time.Second, 10*time.Millisecond,
		"written %d, delivered %d", c.DBSize(ctx).Val(), delivered.Load())
	assert.Empty(t, ev.List(), "Redis answered every round trip within the timeout")
	assert.False(t, st.Degraded())
}

// TestScriptsReloadedAfterFlush: a sync whose scripts Redis has lost
// (SCRIPT FLUSH, a restart) loads them and goes on.
func TestScriptsReloadedAfterFlush(t *testing.T) {
	s := redistest.Start(t)
	c := s.Client(t)
	st := redisstore.New(s.Client(t), redisstore.WithSyncInterval(20*time.Millisecond))
	defer st.Close()
	got := make(chan breaker.Transition, 10)
	defer st.Watch("x", func(tr breaker.Transition) { got <- tr })()
	ctx := context.Background()
	require.Eventually(t, func() bool { return s.CommandStats(t)["evalsha"] > 0 }, 5*time.Second, time.Millisecond)
	require.NoError(t, c.ScriptFlush(ctx).Err())
	st.Publish("x", breaker.Transition{State: breaker.Open, OpenFor: time.Minute, Reason: breaker.ReasonConsecutiveFailures})
	select {
	case tr := <-got:
		assert.Equal(t, breaker.Open, tr.State)
	case <-time.After(5 * time.Second):
		t.Fatal("the opening was not shared after SCRIPT FLUSH")
	}
	assert.False(t, st.Degraded())
}

// TestCloseFromTheStoresGoroutine: observers and watchers run on the
// store's goroutine, and a Close called from one of them does not wait
// for that goroutine, which would wait for it in turn.
func TestCloseFromTheStoresGoroutine(t *testing.T) {
	s := redistest.Start(t)
	t.Run("observer", func(t *testing.T) {
		var st *redisstore.Store
		closed := make(chan struct{})
		var once sync.Once
		st = redisstore.New(s.Client(t), redisstore.WithSyncInterval(10*time.Millisecond), redisstore.WithTimeout(50*time.Millisecond),
			redisstore.WithPrefix("observer:"),
			redisstore.WithObserver(func(_ context.Context, e bulwark.Event) {
				if e.Type == redisstore.EventDegraded {
					once.Do(func() { _ = st.Close(); close(closed) })
				}
			}))
		defer st.Watch("x", func(breaker.Transition) {})()
		s.Pause()
		defer s.Resume()
		select {
		case <-closed:
		case <-time.After(10 * time.Second):
			t.Fatal("Close from an observer did not return")
		}
	})
	t.Run("watcher", func(t *testing.T) {
		st := redisstore.New(s.Client(t), redisstore.WithSyncInterval(10*time.Millisecond), redisstore.WithPrefix("watcher:"))
		closed := make(chan struct{})
		var once sync.Once
		defer st.Watch("x", func(breaker.Transition) { once.Do(func() { _ = st.Close(); close(closed) }) })()
		st.Publish("x", breaker.Transition{State: breaker.Open, OpenFor: time.Minute, Reason: breaker.ReasonConsecutiveFailures})
		select {
		case <-closed:
		case <-time.After(10 * time.Second):
			t.Fatal("Close from a watcher did not return")
		}
	})
}

// TestAScriptErrorIsTheNamesAlone: a key of one name that another program
// wrote (WRONGTYPE) fails that name's scripts alone: the store is not
// degraded, and the other names are shared.
func TestAScriptErrorIsTheNamesAlone(t *testing.T) {
	s := redistest.Start(t)
	c := s.Client(t)
	ctx := context.Background()
	require.NoError(t, c.Set(ctx, "bulwark:breaker:{bad}", "x", 0).Err())
	require.NoError(t, c.Set(ctx, "bulwark:breaker:{bad}:probes:1", "x", 0).Err())
	var ev otest.Events
	st := redisstore.New(s.Client(t), redisstore.WithSyncInterval(20*time.Millisecond), redisstore.WithObserver(ev.Observe))
	defer st.Close()
	got := make(chan breaker.Transition, 10)
	defer st.Watch("bad", func(breaker.Transition) {})()
	defer st.Watch("good", func(tr breaker.Transition) { got <- tr })()
	st.Publish("bad", breaker.Transition{State: breaker.Open, OpenFor: time.Minute, Reason: breaker.ReasonConsecutiveFailures})
	st.Publish("good", breaker.Transition{State: breaker.Open, OpenFor: time.Minute, Reason: breaker.ReasonConsecutiveFailures})
	select {
	case tr := <-got:
		assert.Equal(t, breaker.Open, tr.State)
	case <-time.After(5 * time.Second):
		t.Fatal("the good name's opening was not shared")
	}
	_, err := st.AcquireProbe(ctx, "bad", 1, 1, time.Second)
	require.Error(t, err, "the breaker decides alone")
	assert.False(t, st.Degraded())
	assert.Empty(t, ev.List())
}
