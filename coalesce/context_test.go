package coalesce_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/coalesce"
	"github.com/bulwark-go/bulwark/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type traceID struct{}

// The shared context carries the leader's values but not its deadline;
// it is cancelled once the call has returned. Contexts derived from it
// (a timeout inside the Coalesce, context.AfterFunc) are cancelled with
// it, and context.Cause reads its own cancellation, not the leader's.
func TestTheSharedContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := coalesce.New(byKey)
		base := context.WithValue(withKey(context.Background(), "k"), traceID{}, "abc")
		lctx, cancel := context.WithTimeoutCause(base, time.Hour, errors.New("leader's cause"))
		defer cancel()
		var shared context.Context
		require.NoError(t, c.Execute(lctx, func(ctx context.Context) error {
			shared = ctx
			assert.Equal(t, "abc", ctx.Value(traceID{}))
			_, has := ctx.Deadline()
			assert.False(t, has, "the leader's deadline is not the waiters'")
			assert.NoError(t, ctx.Err())
			assert.NoError(t, context.Cause(ctx))
			select {
			case <-ctx.Done():
				t.Fatal("done while running")
			default:
			}
			return nil
		}))
		<-shared.Done()
		assert.Equal(t, context.Canceled, shared.Err(), "cancelled once the call returned")
		assert.Equal(t, context.Canceled, context.Cause(shared))
		assert.NoError(t, lctx.Err())

		// Derived contexts follow it, without a goroutine each (goleak
		// would see them), and stop functions work.
		g := newGate()
		var wg sync.WaitGroup
		lctx2, cancel2 := context.WithCancel(withKey(context.Background(), "k"))
		var child context.Context
		var ran, stopped sync.WaitGroup
		ran.Add(1)
		wg.Go(func() {
			_ = c.Execute(lctx2, func(ctx context.Context) error {
				var cancelChild context.CancelFunc
				child, cancelChild = context.WithTimeout(ctx, time.Hour)
				defer cancelChild()
				context.AfterFunc(ctx, ran.Done)
				stop := context.AfterFunc(ctx, func() { t.Error("stopped func ran") })
				stopped.Add(1)
				assert.True(t, stop())
				stopped.Done()
				return g.wait(child)
			})
		})
		synctest.Wait()
		cancel2() // the leader, alone, leaves
		ran.Wait()
		wg.Wait()
		stopped.Wait()
		assert.Equal(t, context.Canceled, child.Err())
		assert.Equal(t, context.Canceled, context.Cause(child))

		// AfterFunc on a shared context already done runs at once.
		done := make(chan struct{})
		context.AfterFunc(shared, func() { close(done) })
		<-done
		sub, subCancel := context.WithCancel(shared)
		defer subCancel()
		assert.Equal(t, context.Canceled, sub.Err())
	})
}

// A timeout inside the Coalesce bounds the shared call for every caller;
// one outside bounds each caller's wait.
func TestTimeoutsInsideAndOutside(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := coalesce.New(byKey)
		inside := bulwark.New(c, timeout.New(time.Second))
		g := newGate()
		var wg sync.WaitGroup
		var errs [3]error
		for i := range errs {
			wg.Go(func() { errs[i] = inside.Execute(withKey(context.Background(), "k"), g.wait) })
		}
		wg.Wait()
		for _, err := range errs {
			assert.ErrorIs(t, err, timeout.ErrTimeout)
		}
		assert.Equal(t, int64(1), g.runs.Load())
	})
}

// A leader whose context ends leaves at once with ctx.Err(), as a waiter
// does, while the call goes on for those still waiting: a waiter without
// a deadline does not hold a leader past its own. Alone, the leader's
// leaving cancels the call, which winds down without it.
func TestALeaderLeavesAtItsOwnDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := coalesce.New(byKey)
		base := withKey(context.Background(), "k")
		var shared atomic.Value
		load := func(ctx context.Context) (int, error) {
			shared.Store(ctx)
			select {
			case <-time.After(10 * time.Second):
				return 7, nil
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		}
		lctx, cancel := context.WithTimeout(base, 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		leader := make(chan error)
		go func() {
			_, err := coalesce.Get(lctx, c, load)
			leader <- err
		}()
		synctest.Wait()
		waiter := make(chan int)
		go func() {
			v, err := coalesce.Get(base, c, load)
			assert.NoError(t, err)
			waiter <- v
		}()
		assert.Equal(t, context.DeadlineExceeded, <-leader)
		assert.Equal(t, 50*time.Millisecond, time.Since(start), "the leader leaves at its own deadline")
		assert.NoError(t, shared.Load().(context.Context).Err(), "the call goes on for the waiter")
		assert.Equal(t, 7, <-waiter)
		assert.Equal(t, 10*time.Second, time.Since(start))
		assert.Equal(t, coalesce.Snapshot{Calls: 1, Shared: 1}, c.Snapshot())

		// Alone, it leaves at once too; the call, cancelled, winds down.
		alone, cancel2 := context.WithTimeout(base, 50*time.Millisecond)
		defer cancel2()
		ended := make(chan struct{})
		start = time.Now()
		err := c.Execute(alone, func(ctx context.Context) error {
			defer close(ended)
			<-ctx.Done()
			time.Sleep(time.Second)
			return ctx.Err()
		})
		assert.Equal(t, context.DeadlineExceeded, err)
		assert.Equal(t, 50*time.Millisecond, time.Since(start), "alone, the leader leaves at once")
		<-ended
		assert.Equal(t, 1050*time.Millisecond, time.Since(start))
		assert.Zero(t, c.Snapshot().InFlight)
	})
}
