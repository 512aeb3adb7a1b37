package hedge_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/budget"
	"github.com/bulwark-go/bulwark/hedge"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// attempts runs a scripted function: attempt i (from 1) takes took[i-1] and
// returns errs[i-1], or stops early with ctx.Err() when cancelled. It
// records how each attempt ended and checks that none outlives Execute.
type attempts struct {
	took    []time.Duration
	errs    []error
	n       atomic.Int32
	running atomic.Int32
	mu      sync.Mutex
	ended   map[int]error
}

func (a *attempts) call(ctx context.Context) error {
	i := int(a.n.Add(1))
	a.running.Add(1)
	defer a.running.Add(-1)
	var err error
	if i <= len(a.errs) {
		err = a.errs[i-1]
	}
	t := time.NewTimer(a.took[i-1])
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		err = ctx.Err()
	}
	a.mu.Lock()
	if a.ended == nil {
		a.ended = map[int]error{}
	}
	a.ended[i] = err
	a.mu.Unlock()
	return err
}

func TestFastAnswerLaunchesNoHedge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev otest.Events
		a := &attempts{took: []time.Duration{99 * time.Millisecond}}
		h := hedge.New(hedge.WithDelay(100*time.Millisecond), hedge.WithObserver(ev.Observe))
		require.NoError(t, h.Execute(context.Background(), a.call))
		assert.Equal(t, int32(1), a.n.Load())
		assert.Empty(t, ev.List())
	})
}

func TestHedgeWinsAndThePrimaryIsCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev otest.Events
		a := &attempts{took: []time.Duration{time.Hour, 20 * time.Millisecond}}
		h := hedge.New(hedge.WithDelay(100*time.Millisecond), hedge.WithObserver(ev.Observe))
		start := time.Now()
		require.NoError(t, h.Execute(context.Background(), a.call))
		assert.Equal(t, 120*time.Millisecond, time.Since(start))
		assert.Zero(t, a.running.Load(), "no attempt outlives the call")
		assert.Equal(t, context.Canceled, a.ended[1], "the slow primary was cancelled")
		assert.NoError(t, a.ended[2])
		assert.Equal(t, []bulwark.Event{{Type: bulwark.EventHedge, Policy: "hedge", Attempt: 2, Delay: 100 * time.Millisecond}}, ev.List())
	})
}

func TestPrimaryWinsAndTheHedgeIsCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := &attempts{took: []time.Duration{150 * time.Millisecond, time.Hour}}
		start := time.Now()
		require.NoError(t, hedge.New(hedge.WithDelay(100*time.Millisecond)).Execute(context.Background(), a.call))
		assert.Equal(t, 150*time.Millisecond, time.Since(start))
		assert.Zero(t, a.running.Load())
		assert.Equal(t, context.Canceled, a.ended[2])
	})
}

func TestHedgesLaunchOneDelayApart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev otest.Events
		a := &attempts{took: []time.Duration{time.Hour, time.Hour, 10 * time.Millisecond}}
		h := hedge.New(hedge.WithDelay(100*time.Millisecond), hedge.WithMaxHedges(2), hedge.WithObserver(ev.Observe))
		start := time.Now()
		require.NoError(t, h.Execute(context.Background(), a.call))
		assert.Equal(t, 210*time.Millisecond, time.Since(start))
		assert.Len(t, ev.List(), 2)
		assert.Equal(t, context.Canceled, a.ended[1])
		assert.Equal(t, context.Canceled, a.ended[2])
	})
}

func TestAllFailuresAreJoined(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e1, e2, e3 := errors.New("one"), errors.New("two"), errors.New("three")
		a := &attempts{took: []time.Duration{300 * time.Millisecond, 50 * time.Millisecond, 10 * time.Millisecond}, errs: []error{e1, e2, e3}}
		err := hedge.New(hedge.WithDelay(100*time.Millisecond), hedge.WithMaxHedges(2)).Execute(context.Background(), a.call)
		assert.ErrorIs(t, err, e1)
		assert.ErrorIs(t, err, e2)
		assert.ErrorIs(t, err, e3)
		assert.Zero(t, a.running.Load())
	})
}

// A failure before the delay launches the next hedge at once (as gRPC and
// Polly do; PEER-DIFFERENCES 17).
func TestFailureLaunchesTheNextHedgeAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev otest.Events
		a := &attempts{took: []time.Duration{10 * time.Millisecond, 10 * time.Millisecond}, errs: []error{testutil.ErrDep, nil}}
		start := time.Now()
		require.NoError(t, hedge.New(hedge.WithDelay(time.Second), hedge.WithObserver(ev.Observe)).Execute(context.Background(), a.call))
		assert.Equal(t, 20*time.Millisecond, time.Since(start), "the hedge started when the primary failed, not after the delay")
		assert.Equal(t, []bulwark.Event{{Type: bulwark.EventHedge, Policy: "hedge", Attempt: 2, Delay: time.Second}}, ev.List(),
			"Delay is the call's hedge delay, which this hedge did not wait")
	})
}

func TestPermanentErrorEndsHedgingAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fatal := bulwark.Permanent(testutil.ErrDep)
		a := &attempts{took: []time.Duration{time.Hour, 10 * time.Millisecond}, errs: []error{nil, fatal}}
		start := time.Now()
		err := hedge.New(hedge.WithDelay(100*time.Millisecond)).Execute(context.Background(), a.call)
		assert.Equal(t, fatal, err)
		assert.Equal(t, 110*time.Millisecond, time.Since(start))
		assert.Equal(t, context.Canceled, a.ended[1])
	})
}

func TestCallerCancellationStopsEveryAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(150*time.Millisecond, cancel)
		a := &attempts{took: []time.Duration{time.Hour, time.Hour}}
		err := hedge.New(hedge.WithDelay(100*time.Millisecond)).Execute(ctx, a.call)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Zero(t, a.running.Load())
		assert.Len(t, a.ended, 2)
	})
}

func TestBudgetSpentLaunchesNoHedge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev otest.Events
		budget := budget.NewToken(2, 1)
		budget.RecordAttempt(false) // 1 token left of 2: no more than half
		a := &attempts{took: []time.Duration{time.Second}}
		h := hedge.New(hedge.WithDelay(100*time.Millisecond), hedge.WithBudget(budget), hedge.WithObserver(ev.Observe))
		start := time.Now()
		require.NoError(t, h.Execute(context.Background(), a.call))
		assert.Equal(t, time.Second, time.Since(start), "the primary answered alone")
		assert.Equal(t, int32(1), a.n.Load())
		require.Len(t, ev.List(), 1)
		assert.Equal(t, bulwark.EventBudgetExceeded, ev.List()[0].Type)
		assert.Equal(t, 2, ev.List()[0].Attempt, "the number the hedge would have had")
	})
}

func TestDerivedContextsFollowTheAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var derivedErr error
		calls := atomic.Int32{}
		h := hedge.New(hedge.WithDelay(100 * time.Millisecond))
		require.NoError(t, h.Execute(context.Background(), func(ctx context.Context) error {
			if calls.Add(1) == 2 {
				return nil // the hedge wins at once
			}
			inner, cancel := context.WithTimeout(ctx, time.Hour)
			defer cancel()
			<-inner.Done()
			derivedErr = inner.Err()
			return inner.Err()
		}))
		assert.Equal(t, context.Canceled, derivedErr, "a context derived from the cancelled primary is cancelled too")
	})
}

func TestLatencyQuantileSetsTheDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := hedge.New(hedge.WithLatencyQuantile(0.9, 20, 5*time.Millisecond))
		assert.Equal(t, 5*time.Millisecond, h.Delay(), "the floor until enough latencies are known")
		for i := 1; i <= 20; i++ {
			d := time.Duration(i) * time.Millisecond // 1ms ... 20ms
			require.NoError(t, h.Execute(context.Background(), func(context.Context) error { time.Sleep(d); return nil }))
		}
		assert.Equal(t, 18*time.Millisecond, h.Delay(), "p90 of 1..20ms by nearest rank")

		fast := hedge.New(hedge.WithLatencyQuantile(0.5, 8, 50*time.Millisecond))
		for range 8 {
			require.NoError(t, fast.Execute(context.Background(), func(context.Context) error { time.Sleep(time.Millisecond); return nil }))
		}
		assert.Equal(t, 50*time.Millisecond, fast.Delay(), "never below the floor")
	})
}

func TestExecuteRejectsNilArguments(t *testing.T) {
	h := hedge.New()
	assert.ErrorIs(t, h.Execute(context.Background(), nil), bulwark.ErrNilFunc)
	//lint:ignore SA1012 a nil context is the point of the test
	assert.ErrorIs(t, h.Execute(nil, func(context.Context) error { return nil }), bulwark.ErrNilContext)
}

func TestBadConfigurationPanicsWithItsName(t *testing.T) {
	cases := map[string]func(){
		"bulwark/hedge: WithDelay: delay must be > 0, got 0s":                    func() { hedge.WithDelay(0) },
		"bulwark/hedge: WithMaxHedges: n must be in [1, 10], got 0":              func() { hedge.WithMaxHedges(0) },
		"bulwark/hedge: WithMaxHedges: n must be in [1, 10], got 11":             func() { hedge.WithMaxHedges(11) },
		"bulwark/hedge: WithLatencyQuantile: q must be in (0, 1), got 1":         func() { hedge.WithLatencyQuantile(1, 100, time.Millisecond) },
		"bulwark/hedge: WithLatencyQuantile: window must be in [8, 4096], got 4": func() { hedge.WithLatencyQuantile(0.9, 4, time.Millisecond) },
		"bulwark/hedge: WithLatencyQuantile: floor must be > 0, got 0s":          func() { hedge.WithLatencyQuantile(0.9, 100, 0) },
		"bulwark/hedge: WithBudget: budget must not be nil":                      func() { hedge.WithBudget(nil) },
		"bulwark/hedge: WithName: name must not be empty":                        func() { hedge.WithName("") },
		"bulwark/hedge: WithMeterProvider: provider must not be nil":             func() { hedge.WithMeterProvider(nil) },
		"bulwark/hedge: WithObserver: observer must not be nil":                  func() { hedge.WithObserver(nil) },
	}
	for msg, f := range cases {
		assert.PanicsWithValue(t, msg, f)
	}
	assert.Equal(t, 100*time.Millisecond, hedge.New(nil).Delay(), "nil options are ignored; 100ms by default")
}

func TestBudgetRefusalAfterAFailureEndsTheCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev otest.Events
		budget := budget.NewToken(2, 1)
		budget.RecordAttempt(false)
		a := &attempts{took: []time.Duration{time.Millisecond}, errs: []error{testutil.ErrDep}}
		h := hedge.New(hedge.WithDelay(time.Second), hedge.WithBudget(budget), hedge.WithObserver(ev.Observe))
		err := h.Execute(context.Background(), a.call)
		assert.ErrorIs(t, err, testutil.ErrDep)
		assert.Equal(t, int32(1), a.n.Load())
		require.Len(t, ev.List(), 1, "the refusal is reported before Execute returns")
		assert.Equal(t, bulwark.EventBudgetExceeded, ev.List()[0].Type)
	})
}
