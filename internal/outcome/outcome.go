// Package outcome holds the one rule by which every bulwark policy that
// learns from outcomes (the breaker, the adaptive bulkhead, the throttler,
// the hedge's latency tracker) turns a call's error into success, failure
// or ignored, and the checks of the WithFailureIf and WithIgnoreIf options
// they all take. The rule is the table of the root package's doc.
package outcome

import (
	"context"
	"errors"

	"github.com/bulwark-go/bulwark"
)

// Outcome classifies how a call ended. Its String form is the value of the
// bulwark.outcome attribute; policies count calls in slots indexed by it.
type Outcome uint8

const (
	// Success: the call returned nil, or an answer the rule counts as one.
	Success Outcome = iota
	// Failure: the dependency failed.
	Failure
	// Ignored: neither (the caller's cancellation, a local rejection).
	Ignored
	// Rejected: the policy refused the call itself.
	Rejected
)

// Count is the number of outcomes, the size of a count by outcome.
const Count = 4

var names = [Count]string{"success", "failure", "ignored", "rejected"}

// String returns "success", "failure", "ignored" or "rejected".
func (o Outcome) String() string {
	if int(o) < len(names) {
		return names[o]
	}
	return "unknown"
}

// Rules are a policy's WithFailureIf and WithIgnoreIf predicates; the zero
// value is the default rule.
type Rules struct {
	FailureIf func(error) bool
	IgnoreIf  func(error) bool
}

// Classify returns the outcome of a call that returned err under ctx, as
// the root package's table says, in this order:
//
//   - nil is a success;
//   - the caller's own cancellation or deadline is ignored;
//   - a local rejection by a bulwark policy (bulwark.ErrRejected) is
//     ignored: the dependency was never asked;
//   - an error IgnoreIf accepts is ignored;
//   - with FailureIf set, an error it accepts is a failure and any other a
//     success;
//   - without it, an error marked bulwark.Permanent is a success (the
//     dependency answered, definitively: a 404, an invalid argument), and
//     every other error is a failure.
//
// It returns only Success, Failure or Ignored.
func (r *Rules) Classify(ctx context.Context, err error) Outcome {
	switch {
	case err == nil:
		return Success
	case bulwark.CallerCanceled(ctx, err):
		return Ignored
	case errors.Is(err, bulwark.ErrRejected):
		return Ignored
	case r.IgnoreIf != nil && r.IgnoreIf(err):
		return Ignored
	case r.FailureIf != nil:
		if r.FailureIf(err) {
			return Failure
		}
		return Success
	case bulwark.IsPermanent(err):
		return Success
	default:
		return Failure
	}
}

// FailureIf checks a WithFailureIf value of package pkg ("breaker"): it
// panics if f is nil.
func FailureIf(pkg string, f func(error) bool) func(error) bool {
	if f == nil {
		panic("bulwark/" + pkg + ": WithFailureIf: predicate must not be nil")
	}
	return f
}

// IgnoreIf checks a WithIgnoreIf value of package pkg: it panics if f is
// nil.
func IgnoreIf(pkg string, f func(error) bool) func(error) bool {
	if f == nil {
		panic("bulwark/" + pkg + ": WithIgnoreIf: predicate must not be nil")
	}
	return f
}

// NoRetry marks err as a failure of the dependency that must not be tried
// again (a gRPC Internal, a call to a method that is not idempotent): no
// bulwark policy retries or hedges it, and, unlike bulwark.Permanent, the
// policies that learn from outcomes count it as a failure. It is how
// bulwark's middleware says "failed, but do not repeat it". NoRetry(nil) is
// nil.
func NoRetry(err error) error {
	if err == nil {
		return nil
	}
	return &noRetryError{err: err}
}

type noRetryError struct{ err error }

func (e *noRetryError) Error() string { return e.err.Error() }
func (e *noRetryError) Unwrap() error { return e.err }

// IsNoRetry reports whether err, or an error it wraps, was marked by
// NoRetry.
func IsNoRetry(err error) bool {
	for err != nil {
		switch u := err.(type) {
		case *noRetryError:
			return true
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if IsNoRetry(e) {
					return true
				}
			}
			return false
		default:
			return false
		}
	}
	return false
}
