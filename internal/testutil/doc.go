// Package testutil holds what bulwark's tests share: the errors and
// functions they protect, the local rejection a policy inside returns, and
// the measures of what a call costs. Only tests import it; it has no tests
// of its own, since every helper is exercised by the tests that use it.
package testutil
