package retry

import "github.com/bulwark-go/bulwark"

// Snapshot is what a Retry has counted since it was built. The counts are
// kept on the failure paths only, so that a call that succeeds at once
// costs nothing more.
type Snapshot struct {
	// Retries is the attempts made after the first, over every call.
	Retries int64
	// Exhausted is the calls that ended in an *ExhaustedError, for any
	// Reason. A call that ends with a non-retryable error (a permanent
	// one, the caller's cancellation, a rejection without a hint) is not
	// counted: the retry did not give up on it.
	Exhausted int64
	// BudgetRefused is the retries the budget refused; each ended its
	// call with ReasonBudget, and is counted in Exhausted too.
	BudgetRefused int64
	// Tokens is the level of the budget given to WithBudget: what its
	// Tokens method returns (budget.Token: the tokens in the bucket;
	// budget.Ratio: the reserve). It is 0 without a budget, or for a
	// budget that has no such method.
	Tokens float64
}

// Snapshot returns the retry's counts and its budget's level. It takes no
// lock and allocates nothing. The zero Retry counts its own calls.
func (r *Retry) Snapshot() Snapshot {
	return Snapshot{
		Retries:       r.counts.LoadAt(slotRetries),
		Exhausted:     r.counts.LoadAt(slotExhausted),
		BudgetRefused: r.counts.LoadAt(slotRefused),
		Tokens:        tokens(r.budget),
	}
}

// Status returns the retry's state in the shape every policy shares: Kind
// "retry", its Name, Failures the calls it gave up on (Snapshot's
// Exhausted, the bulwark.calls series with outcome "failure"), Retries and
// Tokens as in Snapshot. A Retry has no state, and counts neither
// successes nor the calls it returns without retrying, so that its success
// path stays free: those fields are 0.
func (r *Retry) Status() bulwark.Status {
	s := r.Snapshot()
	return bulwark.Status{Kind: "retry", Name: r.name, Failures: s.Exhausted, Retries: s.Retries, Tokens: s.Tokens}
}

// tokens returns the level of b, 0 if it cannot tell.
func tokens(b any) float64 {
	if t, ok := b.(interface{ Tokens() float64 }); ok {
		return t.Tokens()
	}
	return 0
}
