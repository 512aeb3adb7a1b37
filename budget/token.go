package budget

import "sync/atomic"

// Token is gRPC's retry throttling (proposal A6): a bucket of tokens that
// starts full; each failed attempt takes one token and each successful
// attempt gives back tokenRatio; extra attempts are allowed while more than
// half the tokens remain. A dependency that fails more than about
// tokenRatio of the time soon stops being retried; as it recovers, its
// successes refill the bucket. It is history-based: it remembers the
// outcomes, not the calls in flight.
//
// Tokens are held in billionths, so every amount from a millionth of a
// token up is kept as given. A Token is safe for concurrent use; a
// success with the bucket full writes nothing, so a healthy dependency
// costs one atomic read per call. Build it with NewToken: the zero Token
// holds no tokens and allows no extra attempt.
type Token struct {
	max, ratio int64 // billionths of a token
	tokens     atomic.Int64
	users      atomic.Int32
}

var _ Budget = (*Token)(nil)

// NewToken returns a full Token bucket. maxTokens and tokenRatio must lie
// in [1e-6, 1000] (gRPC allows (0, 1000] with three decimals; amounts
// below a millionth of a token cannot be held); it panics otherwise,
// naming the value.
func NewToken(maxTokens, tokenRatio float64) *Token {
	if !inRange(maxTokens, minFraction, 1000) {
		panicf("NewToken", "maxTokens must be in [1e-06, 1000], got %v", maxTokens)
	}
	if !inRange(tokenRatio, minFraction, 1000) {
		panicf("NewToken", "tokenRatio must be in [1e-06, 1000], got %v", tokenRatio)
	}
	b := &Token{max: fixed(maxTokens), ratio: fixed(tokenRatio)}
	b.tokens.Store(b.max)
	return b
}

func (b *Token) shares() *atomic.Int32 { return &b.users }

// RecordRequest does nothing: the bucket counts attempts.
func (b *Token) RecordRequest() {}

// RecordAttempt gives back tokenRatio tokens for a success, up to the
// maximum, and takes one for a failure, down to zero.
func (b *Token) RecordAttempt(success bool) {
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
			next = max(cur-scale, 0)
		}
		if b.tokens.CompareAndSwap(cur, next) {
			return
		}
	}
}

// TryRetry reports whether more than half the tokens remain. It takes
// nothing: failures pay for extra attempts when they are recorded.
func (b *Token) TryRetry() bool { return b.tokens.Load() > b.max/2 }

// Tokens returns the tokens in the bucket, from 0 to maxTokens: the level
// that a retry or a hedge drawing from the bucket reports in its Status.
func (b *Token) Tokens() float64 { return float64(b.tokens.Load()) / scale }
