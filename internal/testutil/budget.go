package testutil

// UncomparableBudget is a budget (it has budget.Budget's methods) that
// cannot be told apart from another by identity, which the options that
// take a budget reject.
type UncomparableBudget []int

// RecordRequest does nothing.
func (UncomparableBudget) RecordRequest() {}

// RecordAttempt does nothing.
func (UncomparableBudget) RecordAttempt(bool) {}

// TryRetry allows every extra attempt.
func (UncomparableBudget) TryRetry() bool { return true }
