package hedge

import "github.com/bulwark-go/bulwark"

// Snapshot is what a Hedge has counted since it was built. The counts are
// kept beyond the common path only (a primary that answers before the
// delay), which they leave as it was.
type Snapshot struct {
	// Hedges is the extra attempts launched, over every call.
	Hedges int64
	// Failures is the calls in which every attempt that reached the
	// dependency failed: the calls that returned the dependency's
	// failures. A call decided by a success, a bulwark.Permanent answer or
	// the caller's cancellation is not one, nor a call whose attempts were
	// all rejected by a policy inside.
	Failures int64
	// BudgetRefused is the hedges the budget refused.
	BudgetRefused int64
	// Tokens is the level of the budget given to WithBudget: what its
	// Tokens method returns (budget.Token: the tokens in the bucket;
	// budget.Ratio: the reserve). It is 0 without a budget, or for a
	// budget that has no such method.
	Tokens float64
}

// Snapshot returns the hedge's counts and its budget's level. It takes no
// lock and allocates nothing. The zero Hedge counts its own calls.
func (h *Hedge) Snapshot() Snapshot {
	return Snapshot{
		Hedges:        h.counts.LoadAt(slotHedges),
		Failures:      h.counts.LoadAt(slotFailures),
		BudgetRefused: h.counts.LoadAt(slotRefused),
		Tokens:        tokens(h.budget),
	}
}

// Status returns the hedge's state in the shape every policy shares: Kind
// "hedge", its Name, Failures, Hedges and Tokens as in Snapshot (Failures
// is the bulwark.calls series with outcome "failure"). A Hedge has no
// state, and does not count the calls that succeed, so that its common
// path stays as it was: those fields are 0.
func (h *Hedge) Status() bulwark.Status {
	s := h.Snapshot()
	return bulwark.Status{Kind: "hedge", Name: h.name, Failures: s.Failures, Hedges: s.Hedges, Tokens: s.Tokens}
}

// tokens returns the level of b, 0 if it cannot tell.
func tokens(b any) float64 {
	if t, ok := b.(interface{ Tokens() float64 }); ok {
		return t.Tokens()
	}
	return 0
}
