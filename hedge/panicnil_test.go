package hedge_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/budget"
	"github.com/bulwark-go/bulwark/hedge"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/stretchr/testify/assert"
)

// Under GODEBUG=panicnil=1, recover returns nil for panic(nil), as it does
// during a runtime.Goexit. A hedge tells the two apart by whether the
// function that recovered goes on: a panic(nil) is a panic like any other,
// raised from Execute; a Goexit ends its goroutine and decides nothing.

// panics reports whether f panicked, whatever the value.
func panics(f func()) (panicked bool) {
	defer func() { _ = recover() }()
	panicked = true
	f()
	return false
}

// waitOrCancelled is an attempt that answers after a second unless its
// context is cancelled first.
func waitOrCancelled(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Second):
		return nil
	}
}

func TestPanicNilInAHedgeIsRaised(t *testing.T) {
	testutil.SetPanicnil(t)
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		var primaryErr atomic.Value
		h := hedge.New(hedge.WithDelay(10 * time.Millisecond))
		panicked := panics(func() {
			_ = h.Execute(context.Background(), func(ctx context.Context) error {
				if calls.Add(1) == 1 {
					err := waitOrCancelled(ctx)
					primaryErr.Store(err == nil)
					return err
				}
				panic(nil)
			})
		})
		assert.True(t, panicked, "the hedge's panic(nil) was taken for a runtime.Goexit and swallowed")
		assert.Equal(t, false, primaryErr.Load(), "the primary was cancelled by the panic")
	})
}

func TestPanicNilInThePrimaryIsRaised(t *testing.T) {
	testutil.SetPanicnil(t)
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		h := hedge.New(hedge.WithDelay(10 * time.Millisecond))
		panicked := panics(func() {
			_ = h.Execute(context.Background(), func(context.Context) error {
				calls.Add(1)
				panic(nil)
			})
		})
		assert.True(t, panicked, "the primary's panic(nil) became a return")
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, int32(1), calls.Load(), "no hedge ran after Execute panicked")
	})
}

// The primary's panic(nil) after a hedge launched cancels and awaits it,
// then goes on.
func TestPanicNilInThePrimaryAfterAHedgeLaunched(t *testing.T) {
	testutil.SetPanicnil(t)
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		var hedgeReturned atomic.Bool
		h := hedge.New(hedge.WithDelay(10 * time.Millisecond))
		panicked := panics(func() {
			_ = h.Execute(context.Background(), func(ctx context.Context) error {
				if calls.Add(1) == 1 {
					time.Sleep(20 * time.Millisecond)
					panic(nil)
				}
				err := waitOrCancelled(ctx)
				hedgeReturned.Store(true)
				return err
			})
		})
		assert.True(t, panicked)
		assert.True(t, hedgeReturned.Load(), "the hedge returned before the panic went on")
	})
}

// An observer runs on the timer's or a hedge's goroutine: its panic(nil)
// reaches the caller too.
func TestPanicNilInAnObserverIsRaised(t *testing.T) {
	testutil.SetPanicnil(t)
	spent := budget.NewToken(2, 1)
	spent.RecordAttempt(false) // half the tokens: no hedge
	for name, opts := range map[string][]hedge.Option{
		"of the hedge event": {hedge.WithObserver(func(context.Context, bulwark.Event) { panic(nil) })},
		"of the refusal": {
			hedge.WithBudget(spent),
			hedge.WithObserver(func(_ context.Context, e bulwark.Event) {
				if e.Type == bulwark.EventBudgetExceeded {
					panic(nil)
				}
			}),
		},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := hedge.New(append(opts, hedge.WithDelay(10*time.Millisecond))...)
				var calls atomic.Int32
				var primaryOK atomic.Bool
				panicked := panics(func() {
					_ = h.Execute(context.Background(), func(ctx context.Context) error {
						calls.Add(1)
						err := waitOrCancelled(ctx)
						primaryOK.Store(err == nil)
						return err
					})
				})
				assert.True(t, panicked, "the observer's panic(nil) was swallowed")
				assert.Equal(t, int32(1), calls.Load(), "no hedge ran")
				assert.False(t, primaryOK.Load(), "the primary was cancelled by the panic")
			})
		})
	}
}

// A runtime.Goexit is still no panic under panicnil=1: in a hedge it ends
// that attempt alone, and in the primary it ends the caller's goroutine,
// with every hedge cancelled and awaited.
func TestGoexitUnderPanicNil(t *testing.T) {
	testutil.SetPanicnil(t)
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		h := hedge.New(hedge.WithDelay(10 * time.Millisecond))
		var err error
		panicked := panics(func() {
			err = h.Execute(context.Background(), func(ctx context.Context) error {
				if calls.Add(1) == 1 {
					return waitOrCancelled(ctx)
				}
				runtime.Goexit()
				return nil
			})
		})
		assert.False(t, panicked)
		assert.NoError(t, err, "the primary answered; the hedge's Goexit decided nothing")

		var hedgeReturned atomic.Bool
		calls.Store(0)
		done := make(chan bool)
		go func() {
			returned := false
			defer func() { done <- returned }()
			_ = h.Execute(context.Background(), func(ctx context.Context) error {
				if calls.Add(1) == 1 {
					time.Sleep(20 * time.Millisecond)
					runtime.Goexit()
				}
				err := waitOrCancelled(ctx)
				hedgeReturned.Store(true)
				return err
			})
			returned = true
		}()
		assert.False(t, <-done, "Execute did not return: its goroutine exited")
		assert.True(t, hedgeReturned.Load(), "the hedge was awaited")
	})
}
