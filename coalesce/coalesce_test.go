package coalesce_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/coalesce"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type keyCtx struct{}

// byKey reads the key a test put in the context.
func byKey(ctx context.Context) string {
	k, _ := ctx.Value(keyCtx{}).(string)
	return k
}

func withKey(ctx context.Context, k string) context.Context {
	return context.WithValue(ctx, keyCtx{}, k)
}

// gate is a protected call that blocks until released, counting its runs.
type gate struct {
	runs    atomic.Int64
	release chan struct{}
}

func newGate() *gate { return &gate{release: make(chan struct{})} }

func (g *gate) wait(ctx context.Context) error {
	g.runs.Add(1)
	select {
	case <-g.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// 1,000 concurrent identical calls run the function once, and every one
// of them receives its value.
func TestThousandIdenticalCallsRunOnceAndAllGetTheValue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const callers = 1000
		c := coalesce.New(byKey)
		g := newGate()
		ctx := withKey(context.Background(), "user:42")
		var got [callers]string
		var errs [callers]error
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() {
				got[i], errs[i] = coalesce.Get(ctx, c, func(ctx context.Context) (string, error) {
					if err := g.wait(ctx); err != nil {
						return "", err
					}
					return "Ada", nil
				})
			})
		}
		synctest.Wait()
		assert.Equal(t, coalesce.Snapshot{InFlight: 1, Waiting: callers - 1, Calls: 1}, c.Snapshot())
		assert.Equal(t, bulwark.Status{Kind: "coalesce", InFlight: 1, Queued: callers - 1}, c.Status())
		close(g.release)
		wg.Wait()
		assert.Equal(t, int64(1), g.runs.Load(), "one execution")
		for i := range callers {
			require.NoError(t, errs[i], "caller %d", i)
			require.Equal(t, "Ada", got[i], "caller %d", i)
		}
		assert.Equal(t, coalesce.Snapshot{Calls: 1, Shared: callers - 1}, c.Snapshot(), "the key is forgotten")
	})
}

// Under Execute, the call's effect is what is shared: every caller gets
// its outcome and reads what it stored.
func TestExecuteSharesTheOutcomeAndTheEffect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := coalesce.New(byKey)
		g := newGate()
		var cache sync.Map
		ctx := withKey(context.Background(), "price")
		var wg sync.WaitGroup
		var seen [10]any
		for i := range seen {
			wg.Go(func() {
				err := c.Execute(ctx, func(ctx context.Context) error {
					if err := g.wait(ctx); err != nil {
						return err
					}
					cache.Store("price", 12.5)
					return nil
				})
				assert.NoError(t, err)
				seen[i], _ = cache.Load("price")
			})
		}
		synctest.Wait()
		close(g.release)
		wg.Wait()
		assert.Equal(t, int64(1), g.runs.Load())
		for _, v := range seen {
			assert.Equal(t, 12.5, v)
		}
	})
}

// An error is shared: every caller receives the very error the call
// returned.
func TestErrorsAreShared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := coalesce.New(byKey)
		g := newGate()
		ctx := withKey(context.Background(), "k")
		var wg sync.WaitGroup
		var errs [100]error
		for i := range errs {
			wg.Go(func() {
				errs[i] = c.Execute(ctx, func(ctx context.Context) error {
					_ = g.wait(ctx)
					return testutil.ErrDep
				})
			})
		}
		synctest.Wait()
		close(g.release)
		wg.Wait()
		assert.Equal(t, int64(1), g.runs.Load())
		for _, err := range errs {
			assert.Same(t, testutil.ErrDep, err)
		}
	})
}

// A waiter whose context ends leaves at once with ctx.Err(), and the
// call goes on for the others, under a context that is still live.
func TestACancelledWaiterLeavesAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := coalesce.New(byKey)
		g := newGate()
		base := withKey(context.Background(), "k")
		var shared context.Context
		leader := make(chan error)
		go func() {
			_, err := coalesce.Get(base, c, func(ctx context.Context) (int, error) {
				shared = ctx
				if err := g.wait(ctx); err != nil {
					return 0, err
				}
				return 7, nil
			})
			leader <- err
		}()
		synctest.Wait()
		impatient, cancel := context.WithTimeout(base, time.Second)
		defer cancel()
		other := make(chan int)
		go func() {
			v, err := coalesce.Get(base, c, func(context.Context) (int, error) { return 0, errors.New("not run") })
			assert.NoError(t, err)
			other <- v
		}()
		start := time.Now()
		_, err := coalesce.Get(impatient, c, func(context.Context) (int, error) { return 0, errors.New("not run") })
		assert.Equal(t, context.DeadlineExceeded, err)
		assert.Equal(t, time.Second, time.Since(start), "left at its own deadline")
		assert.NoError(t, shared.Err(), "the shared call goes on")
		assert.Equal(t, int64(1), c.Snapshot().Left)
		close(g.release)
		assert.NoError(t, <-leader)
		assert.Equal(t, 7, <-other)
	})
}

// The leader leaves too when its context ends, though it runs the call
// and so returns only when the call does: while others wait, the call goes
// on for them and the leader then gets ctx.Err(); alone, its leaving
// cancels the shared context.
func TestTheLeaderLeavingDoesNotFailTheOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := coalesce.New(byKey)
		g := newGate()
		base := withKey(context.Background(), "k")
		lctx, cancel := context.WithCancel(base)
		leader := make(chan error)
		go func() {
			_, err := coalesce.Get(lctx, c, func(ctx context.Context) (int, error) {
				if err := g.wait(ctx); err != nil {
					return 0, err
				}
				return 7, nil
			})
			leader <- err
		}()
		synctest.Wait()
		waiter := make(chan int)
		go func() {
			v, err := coalesce.Get(base, c, func(context.Context) (int, error) { return 0, nil })
			assert.NoError(t, err)
			waiter <- v
		}()
		synctest.Wait()
		cancel()
		synctest.Wait()
		select {
		case <-leader:
			t.Fatal("the leader returned before the call it runs")
		default:
		}
		close(g.release)
		assert.Equal(t, 7, <-waiter)
		assert.Equal(t, context.Canceled, <-leader)

		// Alone, the leader's leaving cancels the shared context.
		alone, cancel2 := context.WithCancel(base)
		done := make(chan error)
		g2 := newGate()
		go func() { done <- c.Execute(alone, g2.wait) }()
		synctest.Wait()
		cancel2()
		assert.Equal(t, context.Canceled, <-done)
	})
}

// The shared context is cancelled when every caller has left, and not
// before; a caller who comes then starts a call of its own.
func TestTheSharedContextEndsWhenEveryoneHasLeft(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := coalesce.New(byKey)
		base := withKey(context.Background(), "k")
		var sharedErr atomic.Value
		lctx, cancelLeader := context.WithCancel(base)
		stuck := make(chan struct{})
		leader := make(chan error)
		go func() {
			leader <- c.Execute(lctx, func(ctx context.Context) error {
				<-ctx.Done()
				sharedErr.Store(ctx.Err())
				<-stuck // winding down slowly
				return ctx.Err()
			})
		}()
		synctest.Wait()
		wctx, cancelWaiter := context.WithCancel(base)
		waiter := make(chan error)
		go func() { waiter <- c.Execute(wctx, testutil.Nop) }()
		synctest.Wait()
		cancelLeader()
		synctest.Wait()
		assert.Nil(t, sharedErr.Load(), "a waiter is left")
		cancelWaiter()
		assert.Equal(t, context.Canceled, <-waiter)
		synctest.Wait()
		assert.Equal(t, context.Canceled, sharedErr.Load(), "everyone has left")

		ran := false
		assert.NoError(t, c.Execute(base, func(context.Context) error { ran = true; return nil }),
			"a newcomer does not join a call everyone left")
		assert.True(t, ran)
		close(stuck)
		assert.Equal(t, context.Canceled, <-leader)
		assert.Zero(t, c.Snapshot().InFlight)
	})
}

// A panic in the shared call reaches the leader as the panic itself and
// every waiter as a *PanicError wrapping its value; the key is forgotten.
func TestAPanicReachesTheLeaderAndEveryWaiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := coalesce.New(byKey)
		g := newGate()
		base := withKey(context.Background(), "k")
		errBoom := errors.New("boom")
		leader := make(chan any)
		go func() {
			leader <- testutil.Recovered(func() {
				_ = c.Execute(base, func(ctx context.Context) error {
					_ = g.wait(ctx)
					panic(errBoom)
				})
			})
		}()
		synctest.Wait()
		var wg sync.WaitGroup
		var errs [5]error
		for i := range errs {
			wg.Go(func() { errs[i] = c.Execute(base, testutil.Nop) })
		}
		synctest.Wait()
		close(g.release)
		wg.Wait()
		assert.Same(t, errBoom, <-leader)
		for _, err := range errs {
			var pe *coalesce.PanicError
			require.ErrorAs(t, err, &pe)
			assert.Same(t, errBoom, pe.Value)
			assert.ErrorIs(t, err, errBoom)
			assert.Contains(t, string(pe.Stack), "coalesce_test")
			assert.Contains(t, err.Error(), "panicked: boom")
		}
		assert.Zero(t, c.Snapshot().InFlight)
		assert.NoError(t, c.Execute(base, testutil.Nop), "the key is forgotten")

		// panic(nil) is a panic too.
		v := testutil.Recovered(func() { _ = c.Execute(base, func(context.Context) error { panic(nil) }) })
		assert.IsType(t, new(runtime.PanicNilError), v)
	})
}

// A shared call whose goroutine exits (t.FailNow, runtime.Goexit) fails
// every waiter, and the leader's goroutine goes on exiting.
func TestGoexitInTheSharedCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := coalesce.New(byKey)
		g := newGate()
		base := withKey(context.Background(), "k")
		exited := make(chan bool)
		go func() {
			returned := false
			defer func() { exited <- returned }()
			_ = c.Execute(base, func(ctx context.Context) error {
				_ = g.wait(ctx)
				runtime.Goexit()
				return nil
			})
			returned = true
		}()
		synctest.Wait()
		waiter := make(chan error)
		go func() { waiter <- c.Execute(base, testutil.Nop) }()
		synctest.Wait()
		close(g.release)
		assert.ErrorContains(t, <-waiter, "runtime.Goexit")
		assert.False(t, <-exited)
		assert.Zero(t, c.Snapshot().InFlight)
	})
}

// An empty key shares nothing, and the zero Coalesce runs every call on
// its own.
func TestEmptyKeyAndZeroValueRunAlone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var zero coalesce.Coalesce
		for _, c := range []*coalesce.Coalesce{coalesce.New(byKey), &zero} {
			g := newGate()
			var wg sync.WaitGroup
			for range 3 {
				wg.Go(func() { assert.NoError(t, c.Execute(withKey(context.Background(), ""), g.wait)) })
			}
			synctest.Wait()
			assert.Equal(t, int64(3), g.runs.Load())
			close(g.release)
			wg.Wait()
		}
		assert.Equal(t, bulwark.Status{Kind: "coalesce"}, zero.Status())
		assert.Equal(t, coalesce.Snapshot{}, zero.Snapshot())
	})
}

// Different keys do not share.
func TestDifferentKeysDoNotShare(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := coalesce.New(byKey)
		g := newGate()
		var wg sync.WaitGroup
		for _, k := range []string{"a", "b", "a", "c", "b"} {
			wg.Go(func() { assert.NoError(t, c.Execute(withKey(context.Background(), k), g.wait)) })
		}
		synctest.Wait()
		assert.Equal(t, int64(3), g.runs.Load())
		assert.Equal(t, 3, c.Status().InFlight)
		assert.Equal(t, 2, c.Status().Queued)
		close(g.release)
		wg.Wait()
	})
}

// A caller whose context has already ended joins nothing and runs
// nothing.
func TestADoneCallerRunsNothing(t *testing.T) {
	c := coalesce.New(byKey)
	ctx, cancel := context.WithCancel(withKey(context.Background(), "k"))
	cancel()
	ran := false
	assert.Equal(t, context.Canceled, c.Execute(ctx, func(context.Context) error { ran = true; return nil }))
	assert.False(t, ran)
	assert.Zero(t, c.Snapshot().Calls)
}

func TestBadConfigurationPanics(t *testing.T) {
	lookup := func(context.Context, string) (int, time.Time, bool) { return 0, time.Time{}, false }
	for want, f := range map[string]func(){
		"bulwark/coalesce: New: key function must not be nil":                     func() { coalesce.New(nil) },
		"bulwark/coalesce: WithStaleWhileRevalidate: window must be > 0, got 0s":  func() { coalesce.WithStaleWhileRevalidate(0, lookup) },
		"bulwark/coalesce: WithStaleWhileRevalidate: window must be > 0, got -1s": func() { coalesce.WithStaleWhileRevalidate(-time.Second, lookup) },
		"bulwark/coalesce: WithStaleWhileRevalidate: lookup must not be nil": func() {
			coalesce.WithStaleWhileRevalidate[int](time.Second, nil)
		},
		"bulwark/coalesce: WithName: name must not be empty":            func() { coalesce.WithName("") },
		"bulwark/coalesce: WithMeterProvider: provider must not be nil": func() { coalesce.WithMeterProvider(nil) },
		"bulwark/coalesce: WithObserver: observer must not be nil":      func() { coalesce.WithObserver(nil) },
	} {
		assert.PanicsWithValue(t, want, f)
	}
	assert.NotPanics(t, func() {
		coalesce.New(byKey, nil, coalesce.WithStaleWhileRevalidate(time.Duration(1<<63-1), lookup))
	})
	c := coalesce.New(byKey)
	assert.Equal(t, bulwark.ErrNilFunc, c.Execute(context.Background(), nil))
	var nilCtx context.Context
	assert.Equal(t, bulwark.ErrNilContext, c.Execute(nilCtx, testutil.Nop))
	_, err := coalesce.Get[int](context.Background(), c, nil)
	assert.Equal(t, bulwark.ErrNilFunc, err)
}
