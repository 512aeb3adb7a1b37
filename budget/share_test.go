package budget_test

import (
	"context"
	"testing"

	"github.com/bulwark-go/bulwark/budget"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countingBudget counts what it is told; it comes from outside the
// package, so a Share cannot know how many policies use it.
type countingBudget struct{ requests, successes, failures, tries int }

func (b *countingBudget) RecordRequest() { b.requests++ }
func (b *countingBudget) RecordAttempt(ok bool) {
	if ok {
		b.successes++
	} else {
		b.failures++
	}
}
func (b *countingBudget) TryRetry() bool { b.tries++; return true }

// A budget one policy uses alone needs no mark: Begin hands back the
// caller's context, at no cost, and the policy records the call.
func TestABudgetUsedByOnePolicyNeedsNoMark(t *testing.T) {
	b := budget.NewRatio(1, 0)
	s := budget.NewShare(b)
	ctx := context.Background()
	got, records := s.Begin(ctx)
	assert.True(t, records)
	assert.Equal(t, ctx, got)
	assert.False(t, s.Recorded(ctx))
	allocs := testing.AllocsPerRun(100, func() { s.Begin(ctx) })
	assert.Zero(t, allocs)
}

// Shared by two policies, the outer one records the call and marks it;
// the inner one finds the mark and records nothing.
func TestTheOutermostPolicyRecordsASharedCall(t *testing.T) {
	b := &countingBudget{}
	outer, inner := budget.NewShare(b), budget.NewShare(b)
	ctx := context.Background()
	attempts, records := outer.Begin(ctx)
	require.True(t, records)
	assert.NotEqual(t, ctx, attempts)
	assert.True(t, inner.Recorded(attempts))
	assert.False(t, inner.Recorded(ctx))
	got, records := inner.Begin(attempts)
	assert.False(t, records)
	assert.Equal(t, attempts, got, "nothing more is allocated inside")
	assert.Zero(t, b.requests, "Begin records nothing itself")

	// An unrelated budget does not see the mark.
	other := budget.NewShare(&countingBudget{})
	assert.False(t, other.Recorded(attempts))

	// Values of the caller's context still come through the mark.
	type key struct{}
	vctx := context.WithValue(ctx, key{}, "v")
	attempts, _ = outer.Begin(vctx)
	assert.Equal(t, "v", attempts.Value(key{}))
}

// A Share counts the policies using a budget of this package: two make it
// shared.
func TestABudgetOfThisPackageBecomesSharedWithItsSecondPolicy(t *testing.T) {
	b := budget.NewToken(10, 0.1)
	first := budget.NewShare(b)
	ctx := context.Background()
	got, _ := first.Begin(ctx)
	assert.Equal(t, ctx, got, "alone: no mark")
	budget.NewShare(b)
	got, _ = first.Begin(ctx)
	assert.NotEqual(t, ctx, got, "shared: marked")
	assert.Equal(t, b, first.Budget())
}

// Value answers the mark's key only: a policy with contexts of its own
// marks the call through it.
func TestValueAnswersTheMarksKeyOnly(t *testing.T) {
	b := budget.NewToken(10, 0.1)
	outer, inner := budget.NewShare(b), budget.NewShare(b)
	own := ownCtx{Context: context.Background(), s: outer}
	assert.True(t, inner.Recorded(own))
	assert.Nil(t, outer.Value("something else"))
	assert.Nil(t, outer.Value(nil))
}

type ownCtx struct {
	context.Context
	s *budget.Share
}

func (c ownCtx) Value(key any) any {
	if v := c.s.Value(key); v != nil {
		return v
	}
	return c.Context.Value(key)
}
