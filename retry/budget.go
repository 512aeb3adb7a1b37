package retry

import (
	"fmt"
	"math"
	"sync/atomic"

	"golang.org/x/time/rate"
)

// Budget caps retries (and hedges) as a share of traffic, so that a
// failing dependency is not hammered by every caller's retries at once. One
// Budget is shared by the policies that call the same dependency; it is
// safe for concurrent use. NewTokenBudget and NewRatioBudget make the two
// kinds.
type Budget interface {
	// RecordAttempt records one attempt's outcome: success, or a failure
	// that is worth retrying.
	RecordAttempt(success bool)
	// RecordRequest records a call about to be made, before its first
	// attempt.
	RecordRequest()
	// TryRetry reports whether one more retry (or hedge) may be made, and
	// if so takes it from the budget.
	TryRetry() bool
}

// milli is the fixed-point scale of token counts: tokens are kept in
// thousandths, as the gRPC specification does.
const milli = 1000

// TokenBudget is gRPC's retry throttling (proposal A6): a bucket of tokens
// that starts full; each failed attempt takes one token and each successful
// attempt gives back tokenRatio; retries are allowed while more than half
// the tokens remain. A dependency that fails more than about tokenRatio of
// the time soon stops being retried; as it recovers, its successes refill
// the bucket.
type TokenBudget struct {
	max, ratio int64 // thousandths of a token
	tokens     atomic.Int64
}

var _ Budget = (*TokenBudget)(nil)

// NewTokenBudget returns a full TokenBudget. gRPC's limits apply: maxTokens
// in (0, 1000], tokenRatio in (0, 1000]; it panics otherwise, naming the
// value.
func NewTokenBudget(maxTokens, tokenRatio float64) *TokenBudget {
	if math.IsNaN(maxTokens) || maxTokens <= 0 || maxTokens > 1000 {
		panic(fmt.Sprintf("bulwark/retry: NewTokenBudget: maxTokens must be in (0, 1000], got %v", maxTokens))
	}
	if math.IsNaN(tokenRatio) || tokenRatio <= 0 || tokenRatio > 1000 {
		panic(fmt.Sprintf("bulwark/retry: NewTokenBudget: tokenRatio must be in (0, 1000], got %v", tokenRatio))
	}
	b := &TokenBudget{max: int64(maxTokens * milli), ratio: int64(tokenRatio * milli)}
	b.tokens.Store(b.max)
	return b
}

// RecordRequest does nothing: the token bucket counts attempts.
func (b *TokenBudget) RecordRequest() {}

// RecordAttempt gives back tokenRatio tokens for a success, up to the
// maximum, and takes one for a failure, down to zero. A success with the
// bucket full writes nothing, so a healthy dependency costs one read.
func (b *TokenBudget) RecordAttempt(success bool) {
	for {
		cur := b.tokens.Load()
		var next int64
		if success {
			if cur >= b.max {
				return
			}
			next = min(cur+b.ratio, b.max)
		} else {
			if cur <= 0 {
				return
			}
			next = max(cur-milli, 0)
		}
		if b.tokens.CompareAndSwap(cur, next) {
			return
		}
	}
}

// TryRetry reports whether more than half the tokens remain. It takes
// nothing: failures pay for retries when they are recorded.
func (b *TokenBudget) TryRetry() bool { return b.tokens.Load() > b.max/2 }

// Tokens returns the tokens in the bucket.
func (b *TokenBudget) Tokens() float64 { return float64(b.tokens.Load()) / milli }

// RatioBudget allows retries up to a share of requests, plus a minimum
// rate that keeps a quiet service able to retry at all: each request
// deposits ratio of a token, each retry withdraws one, and the reserve is
// capped at the deposits of 1000 requests, so a long quiet spell does not
// bank a storm of retries. When the reserve is empty, retries come from the
// minimum rate, a token bucket of minPerSecond with a burst of one second's
// worth.
type RatioBudget struct {
	deposit, reserve int64 // thousandths of a token
	tokens           atomic.Int64
	floor            *rate.Limiter
}

var _ Budget = (*RatioBudget)(nil)

// NewRatioBudget returns an empty RatioBudget allowing retries of up to
// ratio (in (0, 1]) of requests, plus minPerSecond retries each second
// (>= 0). It panics otherwise, naming the value.
func NewRatioBudget(ratio, minPerSecond float64) *RatioBudget {
	if math.IsNaN(ratio) || ratio <= 0 || ratio > 1 {
		panic(fmt.Sprintf("bulwark/retry: NewRatioBudget: ratio must be in (0, 1], got %v", ratio))
	}
	if math.IsNaN(minPerSecond) || math.IsInf(minPerSecond, 0) || minPerSecond < 0 {
		panic(fmt.Sprintf("bulwark/retry: NewRatioBudget: minPerSecond must be finite and >= 0, got %v", minPerSecond))
	}
	d := int64(ratio * milli)
	return &RatioBudget{
		deposit: d,
		reserve: d * 1000,
		floor:   rate.NewLimiter(rate.Limit(minPerSecond), max(1, int(math.Ceil(minPerSecond)))),
	}
}

// RecordRequest deposits ratio of a token, up to the reserve's cap; with
// the reserve full it writes nothing.
func (b *RatioBudget) RecordRequest() {
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

// RecordAttempt does nothing: the ratio budget counts requests.
func (b *RatioBudget) RecordAttempt(bool) {}

// TryRetry withdraws a token from the reserve, or else from the minimum
// rate, and reports whether it got one.
func (b *RatioBudget) TryRetry() bool {
	for {
		cur := b.tokens.Load()
		if cur < milli {
			return b.floor.Limit() > 0 && b.floor.Allow()
		}
		if b.tokens.CompareAndSwap(cur, cur-milli) {
			return true
		}
	}
}
