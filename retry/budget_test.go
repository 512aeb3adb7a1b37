package retry_test

import (
	"context"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/budget"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/internal/testutil"
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

// gRPC A6 semantics through a retry: failures take a token, successes give
// back the ratio, retries need more than half the tokens.
func TestTokenBudgetExhaustionAndRecovery(t *testing.T) {
	b := budget.NewToken(10, 0.5)
	var ev otest.Events
	r := retry.New(retry.WithDelay(0), retry.WithBudget(b), retry.WithObserver(ev.Observe))
	ctx := context.Background()
	failing := testutil.Fail

	reason, attempts := reasonOf(t, r.Execute(ctx, failing)) // 10 → 9 → 8 → 7
	assert.Equal(t, retry.ReasonMaxAttempts, reason)
	assert.Equal(t, 3, attempts)
	assert.Equal(t, 7.0, b.Tokens())

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
	assert.Equal(t, 6.5, b.Tokens())
	s := &script{failures: 1}
	require.NoError(t, r.Execute(ctx, s.call), "retries again once recovered (6.5 → 5.5 > 5)")
	assert.Len(t, s.starts, 2)
}

// Two retries side by side draw from one budget; each call is a request.
func TestBudgetIsSharedByPolicies(t *testing.T) {
	b := budget.NewRatio(1, 0)
	r1 := retry.New(retry.WithDelay(0), retry.WithBudget(b))
	r2 := retry.New(retry.WithDelay(0), retry.WithBudget(b))
	s := &script{failures: 1}
	require.NoError(t, r1.Execute(context.Background(), s.call), "r1's request deposited a token")
	// r2's request deposits one token: one retry, then the budget is spent.
	reason, attempts := reasonOf(t, r2.Execute(context.Background(), testutil.Fail))
	assert.Equal(t, retry.ReasonBudget, reason)
	assert.Equal(t, 2, attempts)
}

// Nested retries drawing from one budget: the outer one records the call,
// the inner one only takes its retries from the budget.
func TestNestedRetriesCountACallOnce(t *testing.T) {
	b := budget.NewToken(10, 0.5)
	outer := retry.New(retry.WithDelay(0), retry.WithMaxAttempts(2), retry.WithBudget(b))
	inner := retry.New(retry.WithDelay(0), retry.WithMaxAttempts(2), retry.WithBudget(b))
	calls := 0
	err := bulwark.New(outer, inner).Execute(context.Background(), func(context.Context) error { calls++; return testutil.ErrDep })
	assert.ErrorIs(t, err, testutil.ErrDep)
	assert.Equal(t, 4, calls)
	assert.Equal(t, 8.0, b.Tokens(), "the outer retry's two attempts are the call's two failures")
}

// A rejection is no outcome of the dependency: it takes no token.
func TestARejectionIsNotAFailedAttempt(t *testing.T) {
	b := budget.NewToken(10, 0.5)
	r := retry.New(retry.WithBudget(b))
	assert.Equal(t, testutil.ErrRejected, r.Execute(context.Background(), func(context.Context) error { return testutil.ErrRejected }))
	hinted := bulwark.WithRetryAfter(testutil.ErrRejected, time.Minute)
	_ = retry.New(retry.WithBudget(b), retry.WithMaxAttempts(1)).Execute(context.Background(), func(context.Context) error { return hinted })
	assert.Equal(t, 10.0, b.Tokens())
}

// The success path with a budget allocates nothing when the budget is the
// retry's alone or the call is recorded outside; a retry that records a
// call for a budget shared with others marks it, one small context.
func TestSuccessWithABudgetAllocates(t *testing.T) {
	ctx := context.Background()
	alone := retry.New(retry.WithBudget(budget.NewToken(10, 0.1)))
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = alone.Execute(ctx, testutil.Nop) }))

	shared := budget.NewRatio(0.1, 0)
	outer := retry.New(retry.WithBudget(shared))
	inner := retry.New(retry.WithBudget(shared))
	assert.Equal(t, 1.0, testing.AllocsPerRun(100, func() { _ = outer.Execute(ctx, testutil.Nop) }))
	if !testutil.Race {
		assert.Equal(t, uint64(32), testutil.BytesPerRun(10000, func() { _ = outer.Execute(ctx, testutil.Nop) }))
	}
	p := bulwark.New(outer, inner)
	assert.Equal(t, 1.0, testing.AllocsPerRun(100, func() { _ = p.Execute(ctx, testutil.Nop) }), "the inner retry adds nothing")
}
