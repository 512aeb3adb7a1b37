package bulkhead_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/timeout"
	"github.com/stretchr/testify/assert"
)

// runAbandoned sends 20 calls, one every 10ms, through p to a function
// that ignores its context and runs for a second, and returns the most
// functions that ran at once.
func runAbandoned(t *testing.T, p bulwark.Policy) (peak int64, errs map[string]int) {
	t.Helper()
	var running, top atomic.Int64
	slow := func(context.Context) error {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			p := top.Load()
			if n <= p || top.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(time.Second) // ignores its context
		return nil
	}
	errs = map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			err := p.Execute(context.Background(), slow)
			mu.Lock()
			errs[kind(err)]++
			mu.Unlock()
		})
		time.Sleep(10 * time.Millisecond)
	}
	wg.Wait()
	time.Sleep(2 * time.Second) // the abandoned functions finish
	return top.Load(), errs
}

func kind(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, bulkhead.ErrFull):
		return "full"
	case errors.Is(err, timeout.ErrTimeout):
		return "timeout"
	}
	return err.Error()
}

// Inside an abandoning timeout, a bulkhead's permit is held by the
// function itself, on the goroutine the timeout leaves behind: at most
// max functions run at once, even when every call is abandoned.
func TestBulkheadInsideAnAbandoningTimeoutBoundsRunningFunctions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := bulwark.New(timeout.New(50*time.Millisecond, timeout.WithAbandon()), bulkhead.New(1))
		peak, errs := runAbandoned(t, p)
		assert.Equal(t, int64(1), peak)
		assert.Equal(t, map[string]int{"timeout": 1, "full": 19}, errs,
			"the first call is abandoned and keeps its permit for its whole second")
	})
}

// Outside an abandoning timeout, the bulkhead gets its permit back when
// the timeout returns: it bounds the callers waiting on the timeout, not
// the functions the timeout left running.
func TestBulkheadOutsideAnAbandoningTimeoutBoundsOnlyCallers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := bulwark.New(bulkhead.New(1), timeout.New(50*time.Millisecond, timeout.WithAbandon()))
		peak, errs := runAbandoned(t, p)
		assert.Greater(t, peak, int64(1), "functions pile up beyond the bulkhead's limit")
		assert.Equal(t, int64(4), peak, "one new function every 50ms for 1s, bounded only by the call rate: %v", errs)
	})
}

// A cooperative timeout waits for the function it timed out, so a
// bulkhead bounds the running functions in either order.
func TestBulkheadAndACooperativeTimeoutBoundFunctionsInEitherOrder(t *testing.T) {
	for name, p := range map[string]func() bulwark.Policy{
		"bulkhead inside":  func() bulwark.Policy { return bulwark.New(timeout.New(50*time.Millisecond), bulkhead.New(1)) },
		"bulkhead outside": func() bulwark.Policy { return bulwark.New(bulkhead.New(1), timeout.New(50*time.Millisecond)) },
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				peak, _ := runAbandoned(t, p())
				assert.Equal(t, int64(1), peak)
			})
		})
	}
}
