package retry_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/budget"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A Retry counts its retries, the calls it gave up on and the retries its
// budget refused, and reads its budget's level; it counts neither the
// calls that succeed nor those it returns without retrying.
func TestStatusCountsRetriesAndExhaustion(t *testing.T) {
	m := otest.NewMeter()
	b := budget.NewToken(10, 0.5) // a failure takes a token, a success gives back half of one
	r := retry.New(retry.WithName("inventory"), retry.WithMeterProvider(m), retry.WithDelay(0), retry.WithBudget(b))
	ctx := context.Background()
	assert.Equal(t, bulwark.Status{Kind: "retry", Name: "inventory", Tokens: 10}, r.Status())

	// The tokens after each call, by the rule above: 10 (a success with the
	// bucket full); 9, then 9.5 (a retry that succeeds); 8.5, 7.5, 6.5
	// (two retries, then max_attempts); 6.5 (a permanent error is not
	// retried); 5.5, 4.5 (a retry, then the budget refuses: 4.5 is not
	// more than half).
	permanent := bulwark.Permanent(testutil.ErrDep)
	require.NoError(t, r.Execute(ctx, testutil.Nop))
	require.NoError(t, r.Execute(ctx, (&script{failures: 1}).call))
	require.ErrorIs(t, r.Execute(ctx, testutil.Fail), retry.ErrExhausted)
	require.Equal(t, permanent, r.Execute(ctx, func(context.Context) error { return permanent }))
	require.ErrorIs(t, r.Execute(ctx, testutil.Fail), retry.ErrExhausted)

	assert.Equal(t, retry.Snapshot{Retries: 4, Exhausted: 2, BudgetRefused: 1, Tokens: 4.5}, r.Snapshot())
	assert.Equal(t, bulwark.Status{Kind: "retry", Name: "inventory", Failures: 2, Retries: 4, Tokens: 4.5}, r.Status())
	assert.Equal(t, map[string]int64{"failure": 2}, testutil.Calls(t, m, "retry", "inventory"), "bulwark.calls")
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = r.Status() }))
}

// A Ratio budget's level is its reserve; without a budget there is none.
func TestStatusTokensAreTheRatioReserve(t *testing.T) {
	b := budget.NewRatio(0.5, 0)
	r := retry.New(retry.WithDelay(0), retry.WithBudget(b))
	for range 4 {
		require.NoError(t, r.Execute(context.Background(), testutil.Nop)) // each deposits half a token
	}
	assert.Equal(t, 2.0, r.Status().Tokens)
	assert.Equal(t, b.Tokens(), r.Snapshot().Tokens)
	assert.Zero(t, retry.New().Status().Tokens)
}

// Every zero Retry counts its own calls, though all run with New()'s
// configuration.
func TestZeroRetriesCountTheirOwnCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var a, b retry.Retry
		require.ErrorIs(t, a.Execute(context.Background(), testutil.Fail), retry.ErrExhausted)
		assert.Equal(t, bulwark.Status{Kind: "retry", Failures: 1, Retries: 2}, a.Status())
		assert.Equal(t, bulwark.Status{Kind: "retry"}, b.Status())
		assert.Equal(t, bulwark.Status{Kind: "retry"}, retry.New().Status(), "nor does New() share them")
	})
}

// Status may be read while calls run: the race detector watches, and no
// count is lost.
func TestStatusIsSafeDuringCalls(t *testing.T) {
	r := retry.New(retry.WithDelay(0))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				_ = r.Execute(context.Background(), testutil.Fail)
			}
		})
	}
	wg.Go(func() {
		for range 100 {
			s := r.Status()
			assert.LessOrEqual(t, s.Failures, int64(400))
		}
	})
	wg.Wait()
	assert.Equal(t, retry.Snapshot{Retries: 800, Exhausted: 400}, r.Snapshot())
}

// Retries are counted when the call ends however it ends: by a panic in a
// later attempt, or by a wait the caller cancelled, which made no attempt
// and counts none. Each retry scheduled still reaches the observer,
// though whether anything listens is asked once per call.
func TestRetriesAreCountedWhenTheCallPanicsOrIsCancelled(t *testing.T) {
	var events otest.Events
	r := retry.New(retry.WithDelay(0), retry.WithMaxAttempts(5), retry.WithObserver(events.Observe))
	n := 0
	assert.PanicsWithValue(t, "third attempt", func() {
		_ = r.Execute(context.Background(), func(context.Context) error {
			if n++; n == 3 {
				panic("third attempt")
			}
			return testutil.ErrDep
		})
	})
	assert.Equal(t, int64(2), r.Snapshot().Retries, "two retries ran before the panic")
	if evs := events.List(); assert.Len(t, evs, 2) {
		assert.Equal(t, []int{2, 3}, []int{evs[0].Attempt, evs[1].Attempt})
		assert.Equal(t, bulwark.EventRetry, evs[1].Type)
	}

	synctest.Test(t, func(t *testing.T) {
		r := retry.New(retry.WithDelay(time.Hour), retry.WithMaxAttempts(5))
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(time.Minute, cancel)
		assert.ErrorIs(t, r.Execute(ctx, testutil.Fail), context.Canceled)
		assert.Equal(t, int64(0), r.Snapshot().Retries, "the retry cancelled during its wait made no attempt")
	})
}
