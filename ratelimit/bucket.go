package ratelimit

import (
	"math"
	"time"

	"golang.org/x/time/rate"
)

// The token bucket is kept as one integer, in the manner of the generic
// cell rate algorithm: the time at which the bucket will be full again.
// Taking a token moves that time one token's refill time later; a token is
// there when the new full time is at most a burst's refill time ahead of
// now. The state only ever moves forward (a cancelled wait moves it back
// only by undoing itself, when nothing was taken after it), so a clock
// reading that went stale before its turn takes a token as of that older
// reading and credits nothing twice: for every interval, the calls whose
// token fell due in it number at most limit × length + burst. A bucket kept
// as tokens and the time they were counted at, as x/time/rate keeps it, has
// to move that time backwards when handed an older reading, and counts the
// interval in between twice.

// ruleKind says which arithmetic a bucket uses.
type ruleKind uint8

const (
	// refilling: the state is the time, in units of 1<<shift ns since the
	// limiter's epoch, at which the bucket is full.
	refilling ruleKind = iota
	// fixed: no token comes back within a Duration (a zero limit, or one
	// token in more than 2^62 ns, about 146 years). The state counts the
	// tokens taken.
	fixed
	// unlimited: rate.Inf. There is no state.
	unlimited
)

const (
	// maxDuration is a wait no Duration can hold: the token does not come
	// within one.
	maxDuration = time.Duration(math.MaxInt64)
	// maxRefill is the longest refill time of one token a refilling bucket
	// counts; beyond it the bucket is fixed.
	maxRefill = 1 << 62
	// maxDepth bounds a burst's refill time in units, so that full times
	// stay far from overflowing.
	maxDepth = 1 << 61
	// maxBurst is the largest burst a refilling bucket counts exactly; a
	// larger one counts as this many tokens (10^15: at fifty million calls
	// a second, eight months of calls).
	maxBurst = 1 << 50
	// sealed marks the state of a bucket replaced by SetLimit or SetBurst.
	sealed = math.MinInt64
)

// rule is the arithmetic of one token bucket: its settings and the
// integers derived from them. It never changes; a new setting is a new
// rule.
type rule struct {
	limit rate.Limit
	burst int
	kind  ruleKind
	hint  bool  // fixed: a positive limit, so rejections say "not within a Duration"
	shift uint8 // refilling: time is counted in units of 1<<shift ns
	t     int64 // refilling: one token's refill time, in units
	depth int64 // refilling: the burst's refill time, in units
	size  int64 // fixed: tokens the bucket holds
}

func isInf(limit rate.Limit) bool { return limit >= rate.Inf }

// newRule returns the rule of a bucket of limit tokens a second and burst
// at most. The limit is >= 0 and not NaN, and burst >= 1 unless the limit
// is infinite.
//
// A token's refill time is rounded up to a whole unit, so the bucket never
// refills faster than the limit; the unit is a nanosecond unless the
// burst's refill time would not fit in 2^61 ns (73 years), where it is the
// smallest power of two that makes it fit.
func newRule(limit rate.Limit, burst int) rule {
	r := rule{limit: limit, burst: burst}
	ns := 1e9 / float64(limit)
	switch {
	case isInf(limit):
		r.kind = unlimited
	case limit == 0 || ns >= maxRefill:
		r.kind, r.size, r.hint = fixed, int64(burst), limit > 0
	default:
		b := min(int64(burst), maxBurst)
		for k := 0; ; k++ {
			t := int64(math.Ceil(math.Ldexp(ns, -k)))
			if t <= maxDepth/b {
				r.shift, r.t, r.depth = uint8(k), t, t*b
				break
			}
		}
	}
	return r
}

// full returns the state of a full bucket at now (ns since the epoch).
func (r *rule) full(now int64) int64 {
	if r.kind == refilling {
		return now >> r.shift
	}
	return 0
}

// isFull reports whether state s holds a full bucket at now.
func (r *rule) isFull(s, now int64) bool {
	if r.kind == refilling {
		return s <= now>>r.shift
	}
	return s == 0
}

// take returns the state after taking a token from state s at now (ns
// since the epoch), and how long, in ns, the caller must wait until the
// token is due: 0 or less for at once, maxDuration when it does not come
// within a Duration (the state is then s). An unlimited rule is never
// asked.
func (r *rule) take(s, now int64) (int64, time.Duration) {
	if r.kind == fixed {
		if s < r.size {
			return s + 1, 0
		}
		return s, maxDuration
	}
	u := now >> r.shift
	f := max(s, u)
	if f > math.MaxInt64-r.t {
		return s, maxDuration
	}
	next := f + r.t
	due := next - r.depth
	if due <= u {
		return next, 0
	}
	if due > math.MaxInt64>>r.shift {
		return s, maxDuration
	}
	return next, time.Duration(due<<r.shift - now)
}

// hintFor is the RetryAfter hint of a rejection that would have had to
// wait wait: the wait itself, or 0 (no hint) when no token will ever come.
func (r *rule) hintFor(wait time.Duration) time.Duration {
	if r.kind == fixed && !r.hint {
		return 0
	}
	return wait
}

// tokens returns the tokens of state s at now, negative while waiters hold
// tokens not yet due; +Inf for an unlimited rule.
func (r *rule) tokens(s, now int64) float64 {
	switch r.kind {
	case unlimited:
		return math.Inf(1)
	case fixed:
		return float64(r.size) - float64(s)
	}
	b := float64(r.depth / r.t)
	u := now >> r.shift
	if s <= u {
		return b
	}
	return b - float64(s-u)/float64(r.t)
}

// state returns the state that holds tokens at now (at most a burst).
func (r *rule) state(tokens float64, now int64) int64 {
	switch r.kind {
	case unlimited:
		return 0
	case fixed:
		used := float64(r.size) - min(tokens, float64(r.size))
		return int64(min(math.Ceil(used), math.MaxInt64/2))
	}
	b := float64(r.depth / r.t)
	owed := int64(min(math.Ceil((b-min(tokens, b))*float64(r.t)), math.MaxInt64/2))
	u := now >> r.shift
	if u > math.MaxInt64-owed {
		return math.MaxInt64
	}
	return u + owed
}
