package bulkhead_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cachedLimit is a limit at which a Bulkhead built at GOMAXPROCS 2 keeps
// free permits per processor (batches of 8).
const cachedLimit = 64

// warm runs short calls from several goroutines, which leaves free
// permits in the processors' caches.
func warm(b *bulkhead.Bulkhead) {
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				_ = b.Execute(context.Background(), nop)
				runtime.Gosched()
			}
		})
	}
	wg.Wait()
}

// Free permits cached by the processors are collected before a call is
// turned away: every one of the limit's calls is admitted, and only the
// one beyond is rejected.
func TestACachedBulkheadRejectsOnlyWhenFull(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	synctest.Test(t, func(t *testing.T) {
		var ev otest.Events
		b := bulkhead.New(cachedLimit, bulkhead.WithObserver(ev.Observe))
		warm(b)
		assert.Zero(t, b.Snapshot().InFlight)
		release := make(chan struct{})
		var wg sync.WaitGroup
		var admitted atomic.Int32
		for range cachedLimit {
			wg.Go(func() {
				require.NoError(t, b.Execute(context.Background(), func(context.Context) error {
					admitted.Add(1)
					<-release
					return nil
				}))
			})
		}
		synctest.Wait()
		assert.Equal(t, int32(cachedLimit), admitted.Load())
		assert.Equal(t, cachedLimit, b.Snapshot().InFlight)
		assert.ErrorIs(t, b.Execute(context.Background(), nop), bulkhead.ErrFull)
		assert.Len(t, ev.List(), 1)
		close(release)
		wg.Wait()
		assert.Equal(t, bulkhead.Snapshot{Limit: cachedLimit, Rejected: 1}, b.Snapshot())
		warm(b)
		assert.Equal(t, bulkhead.Snapshot{Limit: cachedLimit, Rejected: 1}, b.Snapshot())
	})
}

// A release that finds calls queued hands them the permits the caches
// hold, its own included, first come first served, and no call passes
// the queue.
func TestACachedBulkheadQueuesFirstComeFirstServed(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	synctest.Test(t, func(t *testing.T) {
		b := bulkhead.New(cachedLimit, bulkhead.WithMaxQueue(3))
		warm(b)
		release := make(chan struct{})
		var wg sync.WaitGroup
		for range cachedLimit {
			hold(t, b, release, &wg)
		}
		synctest.Wait()
		var order []int
		var mu sync.Mutex
		stay := make(chan struct{}) // the queued calls hold their permits once they run
		for i := range 3 {
			wg.Go(func() {
				_ = b.Execute(context.Background(), func(context.Context) error {
					mu.Lock()
					order = append(order, i)
					mu.Unlock()
					<-stay
					return nil
				})
			})
			synctest.Wait()
		}
		assert.Equal(t, 3, b.Snapshot().Queued)
		assert.ErrorIs(t, b.Execute(context.Background(), nop), bulkhead.ErrFull, "the queue is full")
		for i := range 3 {
			release <- struct{}{} // one call ends: its permit goes to the first in the queue
			synctest.Wait()
			mu.Lock()
			assert.Len(t, order, i+1)
			mu.Unlock()
			assert.Equal(t, 2-i, b.Snapshot().Queued)
		}
		close(release)
		close(stay)
		wg.Wait()
		assert.Equal(t, []int{0, 1, 2}, order)
		assert.Equal(t, bulkhead.Snapshot{Limit: cachedLimit, Rejected: 1}, b.Snapshot())
	})
}

// Many goroutines through a cached bulkhead with a queue, holding their
// permits for a while, some cancelling, some panicking: at no time are
// more than the limit's calls in flight, and every permit comes back.
func TestACachedBulkheadUnderContention(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	b := bulkhead.New(cachedLimit, bulkhead.WithMaxQueue(16))
	var inflight, peak, rejected atomic.Int64
	var wg sync.WaitGroup
	for g := range 96 {
		wg.Go(func() {
			for i := range 100 {
				ctx, cancel := context.WithCancel(context.Background())
				if (g+i)%7 == 0 {
					cancel()
				}
				func() {
					defer func() { _ = recover() }()
					err := b.Execute(ctx, func(context.Context) error {
						n := inflight.Add(1)
						for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
						}
						defer inflight.Add(-1)
						for range i % 4 {
							runtime.Gosched()
						}
						if (g+i)%11 == 0 {
							panic("boom")
						}
						return nil
					})
					if errors.Is(err, bulkhead.ErrFull) {
						rejected.Add(1)
					}
				}()
				cancel()
			}
		})
	}
	wg.Wait()
	assert.LessOrEqual(t, peak.Load(), int64(cachedLimit))
	t.Logf("peak %d in flight, %d rejected", peak.Load(), rejected.Load())
	s := b.Snapshot()
	assert.Zero(t, s.InFlight)
	assert.Zero(t, s.Queued)
	assert.Equal(t, rejected.Load(), s.Rejected)

	release := make(chan struct{})
	var held sync.WaitGroup
	for range cachedLimit {
		hold(t, b, release, &held)
	}
	for i := 0; b.Snapshot().InFlight+b.Snapshot().Queued < cachedLimit; i++ {
		require.Less(t, i, 1_000_000, "the calls neither run nor queue")
		runtime.Gosched()
	}
	assert.Equal(t, bulkhead.Snapshot{Limit: cachedLimit, InFlight: cachedLimit, Rejected: s.Rejected}, b.Snapshot(),
		"every permit came back")
	close(release)
	held.Wait()
}
