package hedge_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark/hedge"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// foreignParent is a cancellable context of a type the context package
// does not know: a context derived from it follows its cancellation with
// a goroutine of its own, until one of the two is cancelled.
type foreignParent struct {
	context.Context
	done chan struct{}
}

func (p foreignParent) Done() <-chan struct{} { return p.done }

// An attempt's context kept past its call and watched afterwards (by a
// goroutine the attempt started) is cancelled like one watched during its
// call: whether its Done closes does not depend on when that goroutine
// runs, and the hedge leaves no cancellation behind that nobody stops.
func TestAContextWatchedAfterItsCallIsCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		parent, cancel := context.WithCancel(context.Background())
		defer cancel() // frees the goroutine below if its Done never closes
		for name, delay := range map[string]time.Duration{"a primary": time.Hour, "a winning hedge": time.Millisecond} {
			h := hedge.New(hedge.WithDelay(delay))
			var watched atomic.Bool
			start := make(chan struct{})
			var calls atomic.Int32
			require.NoError(t, h.Execute(parent, func(ctx context.Context) error {
				if delay != time.Hour && calls.Add(1) == 1 {
					<-ctx.Done() // the primary loses to the hedge
					return ctx.Err()
				}
				go func() {
					<-start // runs once the call has returned
					<-ctx.Done()
					watched.Store(true)
				}()
				return nil
			}), name)
			close(start)
			synctest.Wait()
			assert.True(t, watched.Load(), "%s: Done of a context watched after its call never closes", name)
		}
	})
}

func TestAContextWatchedAfterItsCallLeavesNoGoroutine(t *testing.T) {
	before := goleak.IgnoreCurrent()
	parent := foreignParent{Context: context.Background(), done: make(chan struct{})}
	defer close(parent.done)
	h := hedge.New(hedge.WithDelay(time.Hour))
	var kept context.Context
	require.NoError(t, h.Execute(parent, func(ctx context.Context) error {
		kept = ctx
		return nil
	}))
	_ = kept.Done()
	child, stop := context.WithCancel(kept)
	stop()
	<-child.Done()
	assert.NoError(t, goleak.Find(before), "a cancellation made after the call, which nothing stops")
}
