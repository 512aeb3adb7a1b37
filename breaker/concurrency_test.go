package breaker_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark/breaker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// 64 goroutines hammer a half-open breaker: exactly k probes get through,
// and once they succeed the breaker closes and lets everyone through.
func TestHalfOpenUnderHammeringAdmitsExactlyKProbes(t *testing.T) {
	for _, k := range []int{1, 3, 10} {
		synctest.Test(t, func(t *testing.T) {
			b := breaker.New(breaker.WithConsecutiveFailures(1), breaker.WithOpenDuration(time.Second), breaker.WithHalfOpenProbes(k))
			openNow(b)
			time.Sleep(time.Second)
			synctest.Wait()
			require.Equal(t, breaker.HalfOpen, b.State())

			release := make(chan struct{})
			var admitted, rejected atomic.Int64
			var wg sync.WaitGroup
			for range 64 {
				wg.Go(func() {
					for range 20 {
						err := b.Execute(context.Background(), func(context.Context) error {
							admitted.Add(1)
							<-release // hold the probe slot
							return nil
						})
						if err != nil {
							rejected.Add(1)
						}
					}
				})
			}
			// Every goroutine has either been rejected 20 times or holds a
			// probe slot and waits on release.
			synctest.Wait()
			assert.Equal(t, int64(k), admitted.Load(), "k=%d", k)
			assert.Equal(t, breaker.HalfOpen, b.State())
			close(release)
			wg.Wait()
			assert.Equal(t, breaker.Closed, b.State())
			assert.Equal(t, int64(64*20), admitted.Load()+rejected.Load())
		})
	}
}

// Many goroutines on a closed breaker with a count window: every outcome is
// recorded exactly once.
func TestConcurrentOutcomesAreAllRecorded(t *testing.T) {
	b := breaker.New(breaker.WithFailureRatio(1), breaker.WithCountWindow(1000))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				if (g+i)%4 == 0 {
					_ = b.Execute(context.Background(), fail)
				} else {
					_ = b.Execute(context.Background(), nop)
				}
			}
		})
	}
	wg.Wait()
	s := b.Snapshot()
	assert.Equal(t, 800, s.Calls)
	assert.Equal(t, 200, s.Failures)
	assert.Equal(t, [4]int64{600, 200, 0, 0}, s.Totals)
}
