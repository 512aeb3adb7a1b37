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
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var errDep = errors.New("dependency failed")

func nop(context.Context) error { return nil }

// hold runs a call through b that stays in flight until release is closed.
func hold(t *testing.T, b bulwark.Policy, release <-chan struct{}, wg *sync.WaitGroup) {
	t.Helper()
	wg.Go(func() {
		_ = b.Execute(context.Background(), func(context.Context) error { <-release; return nil })
	})
}

func TestRejectsWhenFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev otest.Events
		b := bulkhead.New(2, bulkhead.WithObserver(ev.Observe))
		release := make(chan struct{})
		var wg sync.WaitGroup
		hold(t, b, release, &wg)
		hold(t, b, release, &wg)
		synctest.Wait()
		assert.Equal(t, 2, b.Snapshot().InFlight)
		called := false
		err := b.Execute(context.Background(), func(context.Context) error { called = true; return nil })
		assert.ErrorIs(t, err, bulkhead.ErrFull)
		assert.ErrorIs(t, err, bulwark.ErrRejected)
		assert.False(t, called)
		require.Len(t, ev.List(), 1)
		assert.Equal(t, bulwark.EventRejected, ev.List()[0].Type)
		close(release)
		wg.Wait()
		assert.Equal(t, bulkhead.Snapshot{Limit: 2, Rejected: 1}, b.Snapshot())
	})
}

func TestPermitsComeBackWhateverTheOutcome(t *testing.T) {
	b := bulkhead.New(1)
	assert.ErrorIs(t, b.Execute(context.Background(), func(context.Context) error { return errDep }), errDep)
	assert.PanicsWithValue(t, "boom", func() {
		_ = b.Execute(context.Background(), func(context.Context) error { panic("boom") })
	})
	require.NoError(t, b.Execute(context.Background(), nop), "the permit came back after an error and a panic")
	assert.Zero(t, b.Snapshot().InFlight)
}

func TestQueueIsFirstComeFirstServed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := bulkhead.New(1, bulkhead.WithMaxQueue(3))
		release := make(chan struct{})
		var wg sync.WaitGroup
		hold(t, b, release, &wg)
		synctest.Wait()
		var order []int
		var mu sync.Mutex
		for i := range 3 {
			wg.Go(func() {
				_ = b.Execute(context.Background(), func(context.Context) error {
					mu.Lock()
					order = append(order, i)
					mu.Unlock()
					return nil
				})
			})
			synctest.Wait() // queued in this order
		}
		assert.Equal(t, 3, b.Snapshot().Queued)
		assert.ErrorIs(t, b.Execute(context.Background(), nop), bulkhead.ErrFull, "the queue is full")
		close(release)
		wg.Wait()
		assert.Equal(t, []int{0, 1, 2}, order)
		assert.Equal(t, bulkhead.Snapshot{Limit: 1, Rejected: 1}, b.Snapshot())
	})
}

func TestCancelledWhileQueuedLeavesThePermits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := bulkhead.New(1, bulkhead.WithMaxQueue(5))
		release := make(chan struct{})
		var wg sync.WaitGroup
		hold(t, b, release, &wg)
		synctest.Wait()
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(time.Second, cancel)
		assert.Equal(t, context.Canceled, b.Execute(ctx, nop))
		assert.Equal(t, bulkhead.Snapshot{Limit: 1, InFlight: 1}, b.Snapshot(), "the cancelled call left the queue")
		close(release)
		wg.Wait()
		require.NoError(t, b.Execute(context.Background(), nop))
		assert.Zero(t, b.Snapshot().InFlight)
	})
}

func TestMaxWaitInTheQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := bulkhead.New(1, bulkhead.WithMaxQueue(5), bulkhead.WithMaxWait(100*time.Millisecond))
		release := make(chan struct{})
		var wg sync.WaitGroup
		hold(t, b, release, &wg)
		synctest.Wait()
		start := time.Now()
		err := b.Execute(context.Background(), nop)
		assert.ErrorIs(t, err, bulkhead.ErrFull)
		assert.Equal(t, 100*time.Millisecond, time.Since(start))
		close(release)
		wg.Wait()
		assert.Equal(t, bulkhead.Snapshot{Limit: 1, Rejected: 1}, b.Snapshot())
	})
}

// Many goroutines through a small bulkhead with a queue, some cancelling,
// some panicking: at no time are more than max calls in flight, and every
// permit comes back.
func TestPermitsReturnUnderContention(t *testing.T) {
	const max = 4
	b := bulkhead.New(max, bulkhead.WithMaxQueue(16))
	var inflight, peak atomic.Int64
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			for i := range 200 {
				ctx, cancel := context.WithCancel(context.Background())
				if (g+i)%7 == 0 {
					cancel() // gives up while queued, or before
				}
				func() {
					defer func() { _ = recover() }()
					_ = b.Execute(ctx, func(context.Context) error {
						n := inflight.Add(1)
						for {
							p := peak.Load()
							if n <= p || peak.CompareAndSwap(p, n) {
								break
							}
						}
						defer inflight.Add(-1)
						if (g+i)%11 == 0 {
							panic("boom")
						}
						return nil
					})
				}()
				cancel()
			}
		})
	}
	wg.Wait()
	assert.LessOrEqual(t, peak.Load(), int64(max))
	s := b.Snapshot()
	assert.Zero(t, s.InFlight)
	assert.Zero(t, s.Queued)
	require.NoError(t, b.Execute(context.Background(), nop))
}

func TestGaugesLandAsMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := otest.NewMeter()
		b := bulkhead.New(1, bulkhead.WithMaxQueue(1), bulkhead.WithName("db"), bulkhead.WithMeterProvider(m))
		release := make(chan struct{})
		var wg sync.WaitGroup
		hold(t, b, release, &wg)
		hold(t, b, release, &wg)
		synctest.Wait()
		for name, want := range map[string]int64{bulkhead.MetricInFlight: 1, bulkhead.MetricQueued: 1} {
			got, ok := m.Metric(t, name)
			require.True(t, ok, name)
			assert.Equal(t, want, got.Data.(metricGauge).DataPoints[0].Value, name)
		}
		close(release)
		wg.Wait()
	})
}

func TestExecuteRejectsNilArguments(t *testing.T) {
	for _, p := range []bulwark.Policy{bulkhead.New(1), bulkhead.NewAdaptive(bulkhead.Vegas())} {
		assert.ErrorIs(t, p.Execute(context.Background(), nil), bulwark.ErrNilFunc)
		//lint:ignore SA1012 a nil context is the point of the test
		assert.ErrorIs(t, p.Execute(nil, nop), bulwark.ErrNilContext)
	}
}

func TestBadConfigurationPanicsWithItsName(t *testing.T) {
	cases := map[string]func(){
		"bulwark/bulkhead: New: max must be >= 1, got 0":                            func() { bulkhead.New(0) },
		"bulwark/bulkhead: WithMaxQueue: n must be >= 0, got -1":                    func() { bulkhead.WithMaxQueue(-1) },
		"bulwark/bulkhead: WithMaxWait: duration must be > 0, got -1s":              func() { bulkhead.WithMaxWait(-time.Second) },
		"bulwark/bulkhead: WithMaxWait: a wait needs a queue: set WithMaxQueue too": func() { bulkhead.New(1, bulkhead.WithMaxWait(time.Second)) },
		"bulwark/bulkhead: WithLimits: need 1 <= min <= max, got 5 and 2":           func() { bulkhead.WithLimits(5, 2) },
		"bulwark/bulkhead: WithLimits: need 1 <= min <= max, got 0 and 2":           func() { bulkhead.WithLimits(0, 2) },
		"bulwark/bulkhead: WithInitialLimit: n must be >= 1, got 0":                 func() { bulkhead.WithInitialLimit(0) },
		"bulwark/bulkhead: WithInitialLimit: 50 is outside the limits [1, 10]": func() {
			bulkhead.NewAdaptive(bulkhead.Vegas(), bulkhead.WithLimits(1, 10), bulkhead.WithInitialLimit(50))
		},
		"bulwark/bulkhead: NewAdaptive: algorithm must not be nil":          func() { bulkhead.NewAdaptive(nil) },
		"bulwark/bulkhead: AIMD: backoff must be in [0.5, 1), got 1":        func() { bulkhead.AIMD(1, time.Second) },
		"bulwark/bulkhead: AIMD: slow must be > 0, got 0s":                  func() { bulkhead.AIMD(0.9, 0) },
		"bulwark/bulkhead: Gradient2: tolerance must be in [1, 2], got 0.5": func() { bulkhead.Gradient2(0.5) },
		"bulwark/bulkhead: WithName: name must not be empty":                func() { bulkhead.WithName("") },
		"bulwark/bulkhead: WithMeterProvider: provider must not be nil":     func() { bulkhead.WithMeterProvider(nil) },
		"bulwark/bulkhead: WithObserver: observer must not be nil":          func() { bulkhead.WithObserver(nil) },
	}
	for msg, f := range cases {
		assert.PanicsWithValue(t, msg, f)
	}
	assert.NotNil(t, bulkhead.New(1, nil), "nil options are ignored")
}
