package retry

import (
	"math"
	"time"
)

// Jitter spreads retry delays so that clients that failed together do not
// retry together. The kinds follow the AWS Architecture Blog's
// "Exponential Backoff And Jitter".
type Jitter uint8

const (
	// JitterNone uses the backoff's delay as it is.
	JitterNone Jitter = iota
	// JitterFull draws the delay uniformly from [0, d).
	JitterFull
	// JitterEqual keeps half the delay and draws the other half: d/2 +
	// [0, d/2).
	JitterEqual
	// JitterDecorrelated draws each delay from [initial, 3 × the previous
	// delay), capped by the backoff's maximum; it replaces the backoff's
	// own growth, keeping its initial delay and cap.
	JitterDecorrelated
)

// String returns "none", "full", "equal" or "decorrelated".
func (j Jitter) String() string {
	switch j {
	case JitterNone:
		return "none"
	case JitterFull:
		return "full"
	case JitterEqual:
		return "equal"
	case JitterDecorrelated:
		return "decorrelated"
	}
	return "unknown"
}

type backoffKind uint8

const (
	backoffConstant backoffKind = iota
	backoffLinear
	backoffExponential
)

// backoff computes delays; it is immutable configuration.
type backoff struct {
	kind      backoffKind
	initial   time.Duration
	increment time.Duration // linear
	factor    float64       // exponential
	max       time.Duration // cap; 0: none (constant)
	jitter    Jitter
}

// delay returns the wait before retry number n (1 for the first retry, that
// is the second attempt), given the previous delay and a uniform draw u in
// [0, 1). It allocates nothing and never returns a negative duration.
func (b *backoff) delay(n int, prev time.Duration, u float64) time.Duration {
	if b.kind == backoffConstant && b.jitter == JitterNone {
		return b.initial
	}
	if b.jitter == JitterDecorrelated {
		lo := b.initial
		if n == 1 || prev < lo {
			prev = lo
		}
		hi := 3 * float64(prev)
		d := float64(lo) + u*(hi-float64(lo))
		return b.capped(d)
	}
	var d float64
	switch b.kind {
	case backoffConstant:
		d = float64(b.initial)
	case backoffLinear:
		d = float64(b.initial) + float64(n-1)*float64(b.increment)
	case backoffExponential:
		d = float64(b.initial) * math.Pow(b.factor, float64(n-1))
	}
	c := b.capped(d)
	switch b.jitter {
	case JitterFull:
		return time.Duration(u * float64(c))
	case JitterEqual:
		half := c / 2
		return half + time.Duration(u*float64(c-half))
	}
	return c
}

// capped converts d to a Duration no longer than the cap (or than the
// longest Duration, without a cap).
func (b *backoff) capped(d float64) time.Duration {
	limit := b.max
	if limit <= 0 {
		limit = math.MaxInt64
	}
	if d >= float64(limit) || math.IsNaN(d) {
		return limit
	}
	return max(time.Duration(d), 0)
}
