package hedge

import (
	"context"
	"sync"
	"testing"

	"github.com/bulwark-go/bulwark/budget"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type key struct{}

// An attempt's context moves from a shared state (none, or the budget's
// mark) to one of its own when it is watched or cancelled, whichever comes
// first, and keeps its parent's values and the mark throughout; the shared
// state is never changed.
func TestAttemptContextStates(t *testing.T) {
	share := budget.NewShare(budget.NewToken(10, 0.1))
	marked := markedState(share)
	parent := context.WithValue(context.Background(), key{}, "v")
	for name, start := range map[string]*attemptState{"unmarked": nil, "marked": marked} {
		newAttempt := func() *attemptCtx {
			a := &attemptCtx{parent: parent}
			if start != nil {
				a.s.Store(start)
			}
			return a
		}
		keepsItsMark := func(t *testing.T, a *attemptCtx) {
			s := a.s.Load()
			require.NotNil(t, s)
			assert.Equal(t, start != nil, s.mark == share)
			assert.Equal(t, "v", a.Value(key{}))
		}
		t.Run(name+"/cancelled before it is watched", func(t *testing.T) {
			a := newAttempt()
			require.NoError(t, a.Err())
			a.cancel()
			assert.ErrorIs(t, a.Err(), context.Canceled)
			select {
			case <-a.Done():
			default:
				t.Fatal("Done is not closed")
			}
			keepsItsMark(t, a)
			a.cancel()
			a.release()
			assert.ErrorIs(t, a.Err(), context.Canceled)
		})
		t.Run(name+"/watched, then cancelled", func(t *testing.T) {
			a := newAttempt()
			done := a.Done()
			require.NoError(t, a.Err())
			keepsItsMark(t, a)
			child, stop := context.WithCancel(a)
			defer stop()
			a.cancel()
			<-done
			<-child.Done()
			assert.ErrorIs(t, a.Err(), context.Canceled)
			assert.Equal(t, "v", child.Value(key{}))
		})
		t.Run(name+"/released once returned", func(t *testing.T) {
			a := newAttempt()
			done := a.Done()
			a.release()
			<-done
			keepsItsMark(t, a)
		})
	}
	assert.Nil(t, marked.ctx)
	assert.Nil(t, marked.stop)
	t.Run("the parent's cancellation", func(t *testing.T) {
		p, cancel := context.WithCancel(parent)
		a := &attemptCtx{parent: p}
		cancel()
		assert.ErrorIs(t, a.Err(), context.Canceled)
		<-a.Done()
	})
}

// Watching and cancelling race: every goroutine sees one context, which is
// cancelled once cancel returns (the race detector watches the handover).
func TestAttemptContextWatchedAndCancelledAtOnce(t *testing.T) {
	for range 200 {
		a := &attemptCtx{parent: context.Background()}
		var wg sync.WaitGroup
		dones := make([]<-chan struct{}, 4)
		for i := range dones {
			wg.Go(func() { dones[i] = a.Done() })
		}
		wg.Go(a.cancel)
		wg.Wait()
		for _, d := range dones {
			<-d
			assert.Equal(t, dones[0], d)
		}
		assert.ErrorIs(t, a.Err(), context.Canceled)
	}
}
