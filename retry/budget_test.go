package retry_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func reasonOf(t *testing.T, err error) (string, int) {
	t.Helper()
	var ex *retry.ExhaustedError
	require.ErrorAs(t, err, &ex)
	return ex.Reason, ex.Attempts
}

// gRPC A6 semantics: failures take a token, successes give back the ratio,
// retries need more than half the tokens.
func TestTokenBudgetExhaustionAndRecovery(t *testing.T) {
	budget := retry.NewTokenBudget(10, 0.5)
	var ev otest.Events
	r := retry.New(retry.WithDelay(0), retry.WithBudget(budget), retry.WithObserver(ev.Observe))
	ctx := context.Background()
	failing := func(context.Context) error { return errDep }

	reason, attempts := reasonOf(t, r.Execute(ctx, failing)) // 10 → 9 → 8 → 7
	assert.Equal(t, retry.ReasonMaxAttempts, reason)
	assert.Equal(t, 3, attempts)
	assert.Equal(t, 7.0, budget.Tokens())

	reason, attempts = reasonOf(t, r.Execute(ctx, failing)) // 7 → 6 → 5: no retry at half
	assert.Equal(t, retry.ReasonBudget, reason)
	assert.Equal(t, 2, attempts)
	assert.Equal(t, bulwark.EventBudgetExceeded, ev.List()[len(ev.List())-1].Type)

	reason, attempts = reasonOf(t, r.Execute(ctx, failing)) // 5 → 4
	assert.Equal(t, retry.ReasonBudget, reason)
	assert.Equal(t, 1, attempts)

	for range 5 { // successes refill: 4 + 5 × 0.5 = 6.5
		require.NoError(t, r.Execute(ctx, func(context.Context) error { return nil }))
	}
	assert.Equal(t, 6.5, budget.Tokens())
	s := &script{failures: 1}
	require.NoError(t, r.Execute(ctx, s.call), "retries again once recovered (6.5 → 5.5 > 5)")
	assert.Len(t, s.starts, 2)
}

func TestTokenBudgetStaysWithinItsBounds(t *testing.T) {
	b := retry.NewTokenBudget(3, 1)
	for range 10 {
		b.RecordAttempt(true)
	}
	assert.Equal(t, 3.0, b.Tokens())
	for range 10 {
		b.RecordAttempt(false)
	}
	assert.Equal(t, 0.0, b.Tokens())
	assert.False(t, b.TryRetry())
}

func TestRatioBudgetAllowsAShareOfRequests(t *testing.T) {
	b := retry.NewRatioBudget(0.5, 0)
	assert.False(t, b.TryRetry(), "empty at first")
	for range 10 {
		b.RecordRequest()
	}
	allowed := 0
	for b.TryRetry() {
		allowed++
	}
	assert.Equal(t, 5, allowed)

	for range 5000 {
		b.RecordRequest()
	}
	allowed = 0
	for b.TryRetry() {
		allowed++
	}
	assert.Equal(t, 500, allowed, "the reserve is capped at the deposits of 1000 requests")
}

func TestRatioBudgetMinimumRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := retry.NewRatioBudget(0.1, 2)
		assert.True(t, b.TryRetry())
		assert.True(t, b.TryRetry())
		assert.False(t, b.TryRetry(), "two a second")
		time.Sleep(500 * time.Millisecond)
		assert.True(t, b.TryRetry())
		assert.False(t, b.TryRetry())
	})
}

func TestBudgetIsSharedByPolicies(t *testing.T) {
	budget := retry.NewRatioBudget(1, 0)
	a := retry.New(retry.WithDelay(0), retry.WithBudget(budget))
	b := retry.New(retry.WithDelay(0), retry.WithBudget(budget))
	s := &script{failures: 1}
	require.NoError(t, a.Execute(context.Background(), s.call), "a's request deposited a token")
	// b's request deposits one token: one retry, then the budget is spent.
	reason, attempts := reasonOf(t, b.Execute(context.Background(), func(context.Context) error { return errDep }))
	assert.Equal(t, retry.ReasonBudget, reason)
	assert.Equal(t, 2, attempts)
}
