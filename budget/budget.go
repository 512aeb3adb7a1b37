package budget

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"sync/atomic"
)

// Budget caps the extra attempts of retries and hedges as a share of
// traffic, so that a failing dependency is not hammered by every caller's
// retries at once. One Budget is shared by the policies that call the same
// dependency; an implementation is safe for concurrent use and comparable
// (a pointer, as NewToken and NewRatio return), since the policies that
// share it tell it apart by identity.
//
// A policy draws from a Budget through a [Share], which makes each call one
// request however many policies the budget is shared by.
type Budget interface {
	// RecordRequest records a call about to be made, before its first
	// attempt. It is called once per call, by the outermost policy that
	// draws from the budget.
	RecordRequest()
	// RecordAttempt records the outcome of one attempt of a recorded call:
	// a success, or a failure worth another attempt. Attempts that say
	// nothing of the dependency are not recorded: one cancelled because
	// another attempt won, a local rejection, the caller's cancellation,
	// an error not worth retrying.
	RecordAttempt(success bool)
	// TryRetry reports whether one more attempt (a retry or a hedge) may
	// be made, and if so takes it from the budget. Every policy asks it
	// before each extra attempt, inner policies included.
	TryRetry() bool
}

// scale is the fixed-point scale of token counts: billionths of a token,
// so that the fractions users write (a ratio of 0.0005, a token ratio of
// 0.001) are held exactly instead of being truncated to nothing.
const scale = 1e9

// minFraction is the smallest token amount a budget accepts: below a
// millionth of a token, billionths could not hold it to better than 0.1%.
const minFraction = 1e-6

// fixed converts a token amount checked to lie in [minFraction, 1000] to
// billionths.
func fixed(v float64) int64 { return int64(math.Round(v * scale)) }

// inRange reports whether v, a token amount, lies in [lo, hi].
func inRange(v, lo, hi float64) bool { return !math.IsNaN(v) && v >= lo && v <= hi }

func panicf(fn, format string, args ...any) {
	panic(fmt.Sprintf("bulwark/budget: "+fn+": "+format, args...))
}

// shareCounter is implemented by the budgets of this package, which count
// the policies drawing from them so that a budget only one policy uses
// costs no context lookup.
type shareCounter interface{ shares() *atomic.Int32 }

// Share is one policy's use of a Budget. It makes a call one request for
// the budget however many policies draw from it: the outermost of them
// records the request and the outcomes of its own attempts; the ones
// inside it find, through the context of the attempt they run in, that
// the call is recorded, and only take their extra attempts from the budget
// with TryRetry. So a retry around a hedge, both drawing from a 10%
// budget, make about 10% extra attempts in all, not 20%.
//
// Build a Share once, when the policy is built, with NewShare; it is safe
// for concurrent use. The zero Share draws from no budget and must not be
// used. Every bulwark policy that takes a Budget holds one; a policy
// written outside bulwark that draws from a Budget should too.
type Share struct {
	b      Budget
	key    any           // shareKey{b}, converted once so lookups do not allocate
	shares *atomic.Int32 // the policies drawing from b; nil when b counts nothing
}

// shareKey finds, in a context, the mark of the outermost policy drawing
// from a budget. Budgets are compared by identity.
type shareKey struct{ b Budget }

// NewShare returns a policy's share of b, and counts the policy among b's
// users when b is a budget of this package. It panics if b is nil or not
// comparable.
func NewShare(b Budget) *Share {
	if b == nil {
		panicf("NewShare", "budget must not be nil")
	}
	if !reflect.TypeOf(b).Comparable() {
		panicf("NewShare", "budget must be comparable (a pointer), got %T", b)
	}
	s := &Share{b: b, key: shareKey{b}}
	if c, ok := b.(shareCounter); ok {
		s.shares = c.shares()
		s.shares.Add(1)
	}
	return s
}

// Budget returns the budget drawn from.
func (s *Share) Budget() Budget { return s.b }

// shared reports whether another policy may draw from the budget. A budget
// from outside this package counts nothing and is taken as shared.
func (s *Share) shared() bool { return s.shares == nil || s.shares.Load() > 1 }

// Begin starts a call through the policy. It reports whether the policy
// records the call: when no policy outside the caller draws from the same
// budget in this call, records is true, and the policy calls RecordRequest
// before its first attempt and RecordAttempt for each attempt's outcome.
// Otherwise the policy outside does the recording, and this one only asks
// TryRetry before each extra attempt.
//
// The policy runs its attempts under the returned context, through which
// the policies inside see that the call is recorded. It is ctx itself, at
// no cost, when the budget is used by this policy alone or when the call is
// recorded outside; when a recording policy shares its budget with
// others, it is a small context of its own (one allocation of 32 bytes).
// A policy that runs its attempts under contexts of its own (a hedge)
// calls Recorded instead and answers Value through them.
func (s *Share) Begin(ctx context.Context) (attempts context.Context, records bool) {
	if s.shares != nil && s.shares.Load() <= 1 {
		return ctx, true // the common case, kept small enough to inline
	}
	return s.mark(ctx)
}

func (s *Share) mark(ctx context.Context) (context.Context, bool) {
	if ctx.Value(s.key) != nil {
		return ctx, false
	}
	return &markedCtx{Context: ctx, key: s.key}, true
}

// Recorded reports whether a policy outside the caller, drawing from the
// same budget, records ctx's call. A policy for which it reports true must
// not call RecordRequest or RecordAttempt for the call; one for which it
// reports false records the call as after Begin.
func (s *Share) Recorded(ctx context.Context) bool {
	return s.shared() && ctx.Value(s.key) != nil
}

// Value returns, for the key through which policies inside look for the
// recording policy, a non-nil mark, and nil for every other key. A policy
// whose attempts run under contexts of its own and that records the call
// (Recorded reported false, and it called RecordRequest) answers Value
// with it before asking the parent context, so that marking the call
// costs it nothing.
func (s *Share) Value(key any) any {
	if key == s.key {
		return s
	}
	return nil
}

// markedCtx is the context of the attempts of a recording policy whose
// budget is shared.
type markedCtx struct {
	context.Context
	key any
}

func (c *markedCtx) Value(key any) any {
	if key == c.key {
		return c
	}
	return c.Context.Value(key)
}

func (c *markedCtx) String() string { return "bulwark/budget: recorded call" }
