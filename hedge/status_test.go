package hedge_test

import (
	"context"
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
)

// A Hedge counts the hedges it launched, the calls whose every attempt
// failed and the hedges its budget refused, and reads its budget's level;
// it counts neither the calls that succeed nor those decided by a
// permanent answer or a rejection.
func TestStatusCountsHedgesAndFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := otest.NewMeter()
		b := budget.NewToken(10, 0.5) // a failure takes a token, a success gives back half of one
		h := hedge.New(hedge.WithName("replicas"), hedge.WithMeterProvider(m), hedge.WithDelay(10*time.Millisecond), hedge.WithBudget(b))
		ctx := context.Background()
		assert.Equal(t, bulwark.Status{Kind: "hedge", Name: "replicas", Tokens: 10}, h.Status())

		// The tokens after each call: 10 (the primary answers in time);
		// 10 (a hedge wins and the primary is cancelled: no failure); 8
		// (the primary fails, launching the hedge at once, which fails:
		// the call failed); 7 (the primary fails, and the hedge's
		// permanent answer ends the call); 7 (a rejected primary is
		// returned at once).
		require.NoError(t, h.Execute(ctx, testutil.Nop))
		a := &attempts{took: []time.Duration{time.Hour, time.Millisecond}}
		require.NoError(t, h.Execute(ctx, a.call))
		a = &attempts{took: []time.Duration{time.Millisecond, time.Millisecond}, errs: []error{testutil.ErrDep, testutil.ErrDep}}
		require.ErrorIs(t, h.Execute(ctx, a.call), testutil.ErrDep)
		permanent := bulwark.Permanent(testutil.ErrDep)
		a = &attempts{took: []time.Duration{time.Millisecond, time.Millisecond}, errs: []error{testutil.ErrDep, permanent}}
		require.Equal(t, permanent, h.Execute(ctx, a.call))
		require.ErrorIs(t, h.Execute(ctx, func(context.Context) error { return testutil.ErrRejected }), bulwark.ErrRejected)
		assert.Equal(t, hedge.Snapshot{Hedges: 3, Failures: 1, Tokens: 7}, h.Snapshot())

		// Then 6, 6.5 (the primary fails, the hedge wins); 5.5, 4.5 (the
		// primary fails, the hedge too: 5.5 was more than half); 3.5 (the
		// primary fails and the budget refuses the hedge: the call failed).
		var n atomic.Int32
		require.NoError(t, h.Execute(ctx, func(context.Context) error {
			if n.Add(1) == 1 {
				return testutil.ErrDep
			}
			return nil
		}))
		require.ErrorIs(t, h.Execute(ctx, testutil.Fail), testutil.ErrDep)
		require.ErrorIs(t, h.Execute(ctx, testutil.Fail), testutil.ErrDep)

		assert.Equal(t, hedge.Snapshot{Hedges: 5, Failures: 3, BudgetRefused: 1, Tokens: 3.5}, h.Snapshot())
		assert.Equal(t, bulwark.Status{Kind: "hedge", Name: "replicas", Failures: 3, Hedges: 5, Tokens: 3.5}, h.Status())
		assert.Equal(t, map[string]int64{"failure": 3}, testutil.Calls(t, m, "hedge", "replicas"), "bulwark.calls")
		assert.Zero(t, testing.AllocsPerRun(100, func() { _ = h.Status() }))
	})
}

// Every zero Hedge counts its own calls, though all run with New()'s
// configuration.
func TestZeroHedgesCountTheirOwnCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var a, b hedge.Hedge
		require.ErrorIs(t, a.Execute(context.Background(), testutil.Fail), testutil.ErrDep)
		assert.Equal(t, bulwark.Status{Kind: "hedge", Failures: 1, Hedges: 1}, a.Status())
		assert.Equal(t, bulwark.Status{Kind: "hedge"}, b.Status())
		assert.Equal(t, bulwark.Status{Kind: "hedge"}, hedge.New().Status(), "nor does New() share them")
	})
}

// Status may be read while calls run: the race detector watches, and no
// count is lost.
func TestStatusIsSafeDuringCalls(t *testing.T) {
	h := hedge.New(hedge.WithDelay(time.Hour))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				_ = h.Execute(context.Background(), testutil.Fail) // the primary fails, the hedge fails
			}
		})
	}
	wg.Go(func() {
		for range 100 {
			assert.LessOrEqual(t, h.Status().Failures, int64(400))
		}
	})
	wg.Wait()
	assert.Equal(t, hedge.Snapshot{Hedges: 400, Failures: 400}, h.Snapshot())
}
