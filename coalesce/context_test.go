package coalesce_test

import (
	"context"
	"errors"
	"sync"
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
