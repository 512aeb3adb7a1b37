package hedge_test

import (
	"context"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"weak"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/budget"
	"github.com/bulwark-go/bulwark/hedge"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/metric"
)

// panickyBudget panics in the method named.
type panickyBudget struct{ in string }

func (b *panickyBudget) RecordRequest() {
	if b.in == "RecordRequest" {
		panic(b.in)
	}
}
func (b *panickyBudget) RecordAttempt(bool) {
	if b.in == "RecordAttempt" {
		panic(b.in)
	}
}
func (b *panickyBudget) TryRetry() bool {
	if b.in == "TryRetry" {
		panic(b.in)
	}
	return true
}

// The budget is asked from the timer's goroutine and a hedge's: a panic
// there reaches the caller, after every attempt has returned.
func TestPanicInTheBudgetReachesTheCaller(t *testing.T) {
	for _, in := range []string{"RecordRequest", "RecordAttempt", "TryRetry"} {
		t.Run(in, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := hedge.New(hedge.WithDelay(10*time.Millisecond), hedge.WithBudget(&panickyBudget{in: in}))
				var calls, running atomic.Int32
				v := testutil.Recovered(func() {
					_ = h.Execute(context.Background(), func(ctx context.Context) error {
						running.Add(1)
						defer running.Add(-1)
						if calls.Add(1) == 1 {
							<-ctx.Done()
							return ctx.Err()
						}
						return nil
					})
				})
				assert.Equal(t, in, v)
				assert.Zero(t, running.Load())
			})
		})
	}
}

// The caller's cancellation ends the call at every point: before it, while
// the primary runs alone, after a hedge launched, after a failure launched
// one at once.
func TestCancellationAtEveryPoint(t *testing.T) {
	cases := []struct {
		name     string
		cancelAt time.Duration // 0: before Execute
		failFast bool          // the primary fails at 5ms
		calls    int32
	}{
		{"before the call", 0, false, 1},
		{"primary alone", 50 * time.Millisecond, false, 1},
		{"after the hedge launched", 150 * time.Millisecond, false, 2},
		{"after a failure launched it at once", 50 * time.Millisecond, true, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				if tc.cancelAt == 0 {
					cancel()
				} else {
					time.AfterFunc(tc.cancelAt, cancel)
				}
				var calls, running atomic.Int32
				start := time.Now()
				err := hedge.New(hedge.WithDelay(100*time.Millisecond)).Execute(ctx, func(ctx context.Context) error {
					running.Add(1)
					defer running.Add(-1)
					if calls.Add(1) == 1 && tc.failFast {
						time.Sleep(5 * time.Millisecond)
						return testutil.ErrDep
					}
					<-ctx.Done()
					return ctx.Err()
				})
				assert.ErrorIs(t, err, context.Canceled)
				assert.Equal(t, tc.calls, calls.Load())
				assert.Zero(t, running.Load())
				assert.Equal(t, tc.cancelAt, time.Since(start))
			})
		})
	}
}

// Many goroutines share a hedge, a retry and their budget, with attempts
// that win, lose, fail and panic: every call ends, every panic reaches its
// caller, nothing is left running (goleak), and the race detector sees the
// sharing.
func TestManyGoroutines(t *testing.T) {
	synctest.Test(t, manyGoroutines)
}

func manyGoroutines(t *testing.T) {
	b := budget.NewToken(100, 0.5)
	h := hedge.New(hedge.WithDelay(time.Millisecond), hedge.WithMaxHedges(2), hedge.WithBudget(b),
		hedge.WithLatencyQuantile(0.9, 64, time.Millisecond))
	p := bulwark.New(retry.New(retry.WithDelay(0), retry.WithBudget(b)), h)
	var running, panics atomic.Int32
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 50 {
				v := testutil.Recovered(func() {
					var n atomic.Int32
					_ = p.Execute(context.Background(), func(ctx context.Context) error {
						running.Add(1)
						defer running.Add(-1)
						switch k := n.Add(1); (g + i + int(k)) % 5 {
						case 0:
							return nil
						case 1:
							return testutil.ErrDep
						case 2:
							if (g*50+i)%7 == 0 {
								panic("boom")
							}
							return testutil.ErrRejected
						default:
							select {
							case <-ctx.Done():
								return ctx.Err()
							case <-time.After(2 * time.Millisecond):
								return nil
							}
						}
					})
				})
				if v != nil {
					require.Equal(t, "boom", v)
					panics.Add(1)
				}
			}
		})
	}
	wg.Wait()
	assert.Zero(t, running.Load())
	assert.Positive(t, panics.Load())
	t.Logf("%d panics reached their callers; %.1f tokens left", panics.Load(), b.Tokens())
}

// The success path allocates nothing of its own but, one call in 16, the
// block of 16 primaries' contexts (384 bytes: 24 a call) of its pooled
// timer, with or without a budget, shared or not: a hedge marks its
// attempts' contexts for the policies inside at no cost.
func TestNotFiringAllocatesABlockOfContextsEvery16Calls(t *testing.T) {
	if testutil.Race {
		t.Skip("under the race detector, sync.Pool drops a quarter of what it is given")
	}
	ctx := context.Background()
	shared := budget.NewRatio(0.1, 0)
	withRetryInside := bulwark.New(hedge.New(hedge.WithDelay(time.Second), hedge.WithBudget(shared)),
		retry.New(retry.WithBudget(shared)))
	for name, p := range map[string]bulwark.Policy{
		"no budget":                       hedge.New(hedge.WithDelay(time.Second)),
		"a budget of its own":             hedge.New(hedge.WithDelay(time.Second), hedge.WithBudget(budget.NewToken(10, 0.1))),
		"a shared budget, a retry inside": withRetryInside,
		"the latency quantile":            hedge.New(hedge.WithLatencyQuantile(0.9, 16, time.Second)),
		"the zero Hedge":                  new(hedge.Hedge),
	} {
		mallocs, bytes := allocations(1600, func() { _ = p.Execute(ctx, testutil.Nop) })
		assert.Equal(t, uint64(100), mallocs, name)
		assert.Equal(t, uint64(1600*24), bytes, name)
	}
}

// allocations returns the allocations and bytes of n runs of f, on one
// processor and without a collection, which would drop the pool of
// timers; f runs once first, so that what it sets up lazily is not
// counted.
func allocations(n int, f func()) (mallocs, bytes uint64) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	f()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		f()
	}
	runtime.ReadMemStats(&after)
	return after.Mallocs - before.Mallocs, after.TotalAlloc - before.TotalAlloc
}

// The primaries' contexts of a block serve one call each: one kept past
// its call answers with its own parent's values and deadline, however many
// calls came after it, and its cancellation is its own: it is cancelled
// once its call has returned, watched or not, and the end of an earlier
// call in the block leaves a later one's live.
func TestAPrimarysContextKeptPastItsCallIsItsOwn(t *testing.T) {
	type key struct{}
	h := hedge.New(hedge.WithDelay(time.Hour))
	var kept []context.Context
	var deadlines []time.Time
	var stopped []<-chan struct{}
	for i := range 40 { // more than two blocks
		deadlines = append(deadlines, time.Now().Add(time.Duration(i+1)*time.Hour))
		parent, cancel := context.WithDeadline(context.WithValue(context.Background(), key{}, i), deadlines[i])
		defer cancel()
		require.NoError(t, h.Execute(parent, func(ctx context.Context) error {
			kept = append(kept, ctx)
			assert.NoError(t, ctx.Err(), "call %d: live during its call", i)
			if i%2 == 0 {
				stopped = append(stopped, ctx.Done()) // made cancellable, released when the call ends
			}
			return nil
		}))
	}
	for i, ctx := range kept {
		assert.Equal(t, i, ctx.Value(key{}), "call %d", i)
		deadline, _ := ctx.Deadline()
		assert.Equal(t, deadlines[i], deadline, "call %d", i)
		assert.ErrorIs(t, ctx.Err(), context.Canceled, "call %d: released once it returned", i)
		<-ctx.Done()
	}
	for _, done := range stopped {
		select {
		case <-done:
		default:
			t.Fatal("a released context's Done is not closed")
		}
	}
}

// A block keeps the parent contexts of the calls carved from it until it
// is used up or the pool that holds its timer is dropped, within two
// collections.
func TestAPrimarysParentIsKeptNoLongerThanItsBlock(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // one pool, one timer
	type key struct{}
	h := hedge.New(hedge.WithDelay(time.Hour))
	call := func() weak.Pointer[[128]byte] {
		v := new([128]byte)
		require.NoError(t, h.Execute(context.WithValue(context.Background(), key{}, v), testutil.Nop))
		return weak.Make(v)
	}
	w := call()
	for range 16 {
		_ = h.Execute(context.Background(), testutil.Nop)
	}
	runtime.GC()
	assert.Nil(t, w.Value(), "kept after its block was used up")

	w = call()
	runtime.GC()
	runtime.GC()
	assert.Nil(t, w.Value(), "kept after the pool was dropped")
	runtime.KeepAlive(h)
}

// A primary that watches its context makes it cancellable: four
// allocations, those of context.WithCancel (with its channel) and the
// attempt's hold on it, beside its share of a block.
func TestNotFiringWatchingTheContextAllocatesItsCancellation(t *testing.T) {
	if testutil.Race {
		t.Skip("under the race detector, sync.Pool drops a quarter of what it is given")
	}
	h := hedge.New(hedge.WithDelay(time.Second))
	ctx := context.Background()
	watch := func(ctx context.Context) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		default:
			return nil
		}
	}
	mallocs, _ := allocations(1600, func() { _ = h.Execute(ctx, watch) })
	assert.Equal(t, uint64(1600*4+100), mallocs)
}

// A Hedge's bytes, at GOMAXPROCS 2: most of them are its bulwark.calls
// registration, which an SDK's meter makes larger; its striped counts are
// allocated when it first hedges.
func TestBytesPerHedge(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	measure := func(build func() *hedge.Hedge) float64 {
		testutil.Settle()
		return otest.HeapPerInstance(2000, build)
	}
	plain := measure(func() *hedge.Hedge {
		h := hedge.New(hedge.WithDelay(time.Second))
		_ = h.Execute(context.Background(), testutil.Nop)
		return h
	})
	hedged := measure(func() *hedge.Hedge {
		h := hedge.New(hedge.WithDelay(time.Second))
		_ = h.Execute(context.Background(), testutil.Fail)
		return h
	})
	quantile := measure(func() *hedge.Hedge {
		return hedge.New(hedge.WithLatencyQuantile(0.95, 128, time.Millisecond))
	})
	m := otest.NewMeter()
	sdk := measure(func() *hedge.Hedge { return hedge.New(hedge.WithMeterProvider(m)) })
	t.Logf("a hedge: %.0f bytes; once it has hedged (its counts): %.0f bytes; with a latency quantile over 128 attempts: %.0f bytes; with an SDK meter: %.0f bytes",
		plain, hedged, quantile, sdk)
	assert.LessOrEqual(t, plain, 1280.0)
	assert.LessOrEqual(t, hedged, 1664.0)
	assert.LessOrEqual(t, quantile, 3328.0)
	assert.LessOrEqual(t, sdk, 1280.0)
	runtime.KeepAlive(m)
}

func TestDroppedHedgesAreCollected(t *testing.T) {
	for name, mp := range map[string]func() metric.MeterProvider{
		"global provider": func() metric.MeterProvider { return nil },
		"SDK provider":    func() metric.MeterProvider { return otest.NewMeter() },
	} {
		t.Run(name, func(t *testing.T) {
			m := mp()
			collected := otest.Collected(func() *hedge.Hedge {
				opts := []hedge.Option{hedge.WithDelay(time.Hour), hedge.WithBudget(budget.NewToken(10, 0.1)),
					hedge.WithLatencyQuantile(0.5, 8, time.Millisecond)}
				if m != nil {
					opts = append(opts, hedge.WithMeterProvider(m))
				}
				return hedge.New(opts...)
			}, func(h *hedge.Hedge) {
				var n atomic.Int32
				_ = h.Execute(context.Background(), func(ctx context.Context) error {
					if n.Add(1) == 1 {
						return testutil.ErrDep // a hedge is launched at once, and wins
					}
					return nil
				})
			})
			assert.True(t, collected)
			runtime.KeepAlive(m)
		})
	}
}

// A loser that ignores its cancellation and succeeds after the call was
// decided is not a latency sample.
func TestLosersAreNotLatencySamples(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := hedge.New(hedge.WithLatencyQuantile(0.9, 8, time.Millisecond))
		for range 8 {
			var n atomic.Int32
			_ = h.Execute(context.Background(), func(ctx context.Context) error {
				if n.Add(1) == 1 {
					time.Sleep(10 * time.Millisecond) // the primary wins
				} else {
					time.Sleep(100 * time.Millisecond) // the hedge loses, ignoring its cancellation
				}
				return nil
			})
		}
		assert.Equal(t, 10*time.Millisecond, h.Delay())
	})
}

// A primary that answers as its timer fires leaves the callback running
// after the call: that timer is not reused, so the next call through the
// Hedge is not hedged by it before its own delay.
func TestATimerThatFiredHedgesNoLaterCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := hedge.New(hedge.WithDelay(10 * time.Millisecond))
		for range 50 {
			_ = h.Execute(context.Background(), func(ctx context.Context) error {
				time.Sleep(10 * time.Millisecond) // the timer fires as this returns
				return nil
			})
			var calls atomic.Int32
			require.NoError(t, h.Execute(context.Background(), func(context.Context) error {
				calls.Add(1)
				synctest.Wait() // the late callback, if any, has run
				return nil
			}))
			assert.Equal(t, int32(1), calls.Load(), "the fast call was hedged")
		}
	})
}
