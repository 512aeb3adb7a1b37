package coalesce_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/bulwark-go/bulwark/coalesce"
	"github.com/stretchr/testify/assert"
)

// Many goroutines on a few keys, some cancelling, some calls panicking:
// every caller gets its key's value, an error of its own cancellation or
// of the panic, never another key's value; afterwards nothing is in flight
// or waiting. The race detector watches.
func TestConcurrentCallsOnFewKeys(t *testing.T) {
	c := coalesce.New(byKey)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range 300 {
				k := strconv.Itoa(r.IntN(4))
				ctx, cancel := context.WithCancel(withKey(context.Background(), k))
				if r.IntN(10) == 0 {
					cancel()
				}
				panics := r.IntN(50) == 0
				func() {
					defer func() {
						if v := recover(); v != nil {
							assert.Equal(t, "boom", v)
						}
					}()
					v, err := coalesce.Get(ctx, c, func(ctx context.Context) (string, error) {
						for range 10 {
							runtime.Gosched()
						}
						if panics {
							panic("boom")
						}
						return "v" + byKey(ctx), ctx.Err()
					})
					var pe *coalesce.PanicError
					switch {
					case err == nil:
						assert.Equal(t, "v"+k, v)
					case errors.As(err, &pe):
						assert.Equal(t, "boom", pe.Value)
					default:
						assert.ErrorIs(t, err, context.Canceled)
					}
				}()
				cancel()
			}
		})
	}
	wg.Wait()
	s := c.Snapshot()
	assert.Zero(t, s.InFlight)
	assert.Zero(t, s.Waiting)
	t.Logf("%d calls run for 2400 callers, %d shared, %d left", s.Calls, s.Shared, s.Left)
}
