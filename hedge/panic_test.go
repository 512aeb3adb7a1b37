package hedge_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/hedge"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A hedge runs on a goroutine of its own: its panic must reach the caller
// of Execute, not kill the process.
func TestPanicInAHedgeIsRaisedOnTheCallersGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var primaryReturned atomic.Bool
		var calls atomic.Int32
		h := hedge.New(hedge.WithDelay(100 * time.Millisecond))
		v := testutil.Recovered(func() {
			_ = h.Execute(context.Background(), func(ctx context.Context) error {
				if calls.Add(1) == 1 {
					<-ctx.Done() // cancelled because the hedge panicked
					primaryReturned.Store(true)
					return ctx.Err()
				}
				panic("boom")
			})
		})
		assert.Equal(t, "boom", v, "the value is unchanged")
		assert.True(t, primaryReturned.Load(), "the primary was cancelled and awaited before the panic reached the caller")
		assert.Equal(t, int32(2), calls.Load())
	})
}

// A panic in the primary before the delay must disarm the hedge timer: no
// attempt may run after Execute panicked.
func TestPanicInThePrimaryDisarmsTheHedge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		h := hedge.New(hedge.WithDelay(100 * time.Millisecond))
		v := testutil.Recovered(func() {
			_ = h.Execute(context.Background(), func(ctx context.Context) error {
				calls.Add(1)
				panic("boom")
			})
		})
		assert.Equal(t, "boom", v)
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, int32(1), calls.Load(), "no hedge ran after Execute panicked")
	})
}

// A primary that panics after a hedge launched cancels that hedge and
// waits for it before the panic goes on.
func TestPanicInThePrimaryAfterAHedgeLaunchedCancelsAndAwaitsIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var hedgeReturned atomic.Bool
		var hedgeErr atomic.Value
		var calls atomic.Int32
		h := hedge.New(hedge.WithDelay(100 * time.Millisecond))
		v := testutil.Recovered(func() {
			_ = h.Execute(context.Background(), func(ctx context.Context) error {
				if calls.Add(1) == 1 {
					time.Sleep(150 * time.Millisecond)
					panic("boom")
				}
				<-ctx.Done()
				hedgeErr.Store(ctx.Err())
				hedgeReturned.Store(true)
				return ctx.Err()
			})
		})
		assert.Equal(t, "boom", v)
		assert.True(t, hedgeReturned.Load(), "the hedge returned before Execute did")
		assert.Equal(t, context.Canceled, hedgeErr.Load())
	})
}

// A loser that panics after another attempt won still panics the caller: a
// panic is a bug in the protected function, never swallowed.
func TestPanicInALoserIsRaisedToo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		h := hedge.New(hedge.WithDelay(100 * time.Millisecond))
		v := testutil.Recovered(func() {
			_ = h.Execute(context.Background(), func(ctx context.Context) error {
				if calls.Add(1) == 1 {
					time.Sleep(120 * time.Millisecond)
					return nil // wins
				}
				<-ctx.Done()
				panic("late")
			})
		})
		assert.Equal(t, "late", v)
	})
}

// Of several panics the first is raised; every attempt has returned by then.
func TestPanicsInEveryAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls, returned atomic.Int32
		h := hedge.New(hedge.WithDelay(10*time.Millisecond), hedge.WithMaxHedges(3))
		v := testutil.Recovered(func() {
			_ = h.Execute(context.Background(), func(ctx context.Context) error {
				n := calls.Add(1)
				defer returned.Add(1)
				if n < 4 {
					<-ctx.Done()
					panic("cancelled")
				}
				panic("first")
			})
		})
		assert.Equal(t, "first", v)
		assert.Equal(t, int32(4), calls.Load())
		assert.Equal(t, int32(4), returned.Load())
	})
}

// An observer of the hedge event runs on the hedge's goroutine: its panic
// reaches the caller too.
func TestPanicInAnObserverOfTheHedgeEvent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := hedge.New(hedge.WithDelay(10*time.Millisecond), hedge.WithObserver(func(context.Context, bulwark.Event) { panic("observer") }))
		var calls atomic.Int32
		v := testutil.Recovered(func() {
			_ = h.Execute(context.Background(), func(ctx context.Context) error {
				calls.Add(1)
				<-ctx.Done()
				return ctx.Err()
			})
		})
		assert.Equal(t, "observer", v)
		assert.Equal(t, int32(1), calls.Load(), "the hedge never ran its attempt")
	})
}

// A panic that is not a panic: runtime.Goexit in the primary (t.FailNow
// from the function) still stops the timer and awaits the hedges.
func TestGoexitInThePrimaryLeavesNothingRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		var hedgeReturned atomic.Bool
		h := hedge.New(hedge.WithDelay(10 * time.Millisecond))
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = h.Execute(context.Background(), func(ctx context.Context) error {
				if calls.Add(1) == 1 {
					time.Sleep(20 * time.Millisecond)
					runtime.Goexit()
				}
				<-ctx.Done()
				hedgeReturned.Store(true)
				return ctx.Err()
			})
		}()
		<-done
		assert.True(t, hedgeReturned.Load())
		time.Sleep(time.Second)
		synctest.Wait()
		require.Equal(t, int32(2), calls.Load())
	})
}
