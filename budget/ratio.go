package budget

import (
	"math"
	"sync/atomic"

	"golang.org/x/time/rate"
)

// Ratio allows extra attempts up to a share of requests, plus a minimum
// rate that keeps a quiet service able to retry at all: each request
// deposits ratio of a token, each extra attempt withdraws one, and the
// reserve is capped at the deposits of 1000 requests, so that a long quiet
// spell does not bank a storm of retries. When the reserve is empty, extra
// attempts come from the minimum rate, a token bucket of minPerSecond with
// a burst of one second's worth. It is request-based: it counts calls, not
// their outcomes.
//
// Deposits are held in billionths of a token, so a ratio of 0.0005 allows
// one extra attempt per 2000 requests. A Ratio is safe for concurrent use.
// Build it with NewRatio: the zero Ratio deposits nothing and allows no
// extra attempt.
type Ratio struct {
	deposit, reserve int64 // billionths of a token
	tokens           atomic.Int64
	floor            *rate.Limiter // nil: no minimum rate
	users            atomic.Int32
}

var _ Budget = (*Ratio)(nil)

// maxPerSecond bounds minPerSecond: far beyond any retry rate, and small
// enough that its burst is an int.
const maxPerSecond = 1e9

// NewRatio returns an empty Ratio allowing extra attempts up to ratio (in
// [1e-6, 1]) of requests, plus minPerSecond (in [0, 1e9]) each second. It
// panics otherwise, naming the value.
func NewRatio(ratio, minPerSecond float64) *Ratio {
	if !inRange(ratio, minFraction, 1) {
		panicf("NewRatio", "ratio must be in [1e-06, 1], got %v", ratio)
	}
	if !inRange(minPerSecond, 0, maxPerSecond) {
		panicf("NewRatio", "minPerSecond must be in [0, 1e9], got %v", minPerSecond)
	}
	d := fixed(ratio)
	b := &Ratio{deposit: d, reserve: max(d*1000, scale)}
	if minPerSecond > 0 {
		b.floor = rate.NewLimiter(rate.Limit(minPerSecond), max(1, int(math.Ceil(minPerSecond))))
	}
	return b
}

func (b *Ratio) shares() *atomic.Int32 { return &b.users }

// RecordRequest deposits ratio of a token, up to the reserve's cap; with
// the reserve full it writes nothing.
func (b *Ratio) RecordRequest() {
	for {
		cur := b.tokens.Load()
		if cur >= b.reserve {
			return
		}
		if b.tokens.CompareAndSwap(cur, min(cur+b.deposit, b.reserve)) {
			return
		}
	}
}

// RecordAttempt does nothing: the ratio counts requests.
func (b *Ratio) RecordAttempt(bool) {}

// TryRetry withdraws a token from the reserve, or else from the minimum
// rate, and reports whether it got one.
func (b *Ratio) TryRetry() bool {
	for {
		cur := b.tokens.Load()
		if cur < scale {
			return b.floor != nil && b.floor.Allow()
		}
		if b.tokens.CompareAndSwap(cur, cur-scale) {
			return true
		}
	}
}

// Tokens returns the tokens in the reserve, from 0 to the deposits of 1000
// requests (one token at least), the minimum rate's aside: the level that a
// retry or a hedge drawing from the Ratio reports in its Status.
func (b *Ratio) Tokens() float64 { return float64(b.tokens.Load()) / scale }
