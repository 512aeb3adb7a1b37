package breaker

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
)

// Permit is the admission of one call by Acquire, for code that cannot hand
// the breaker a function (a stream, a callback API). Report its outcome
// with Done, once.
//
// A Permit cannot leak a half-open probe slot: a second Done is ignored,
// and a half-open probe whose Done does not come within
// WithHalfOpenMaxWait of its admission reopens the breaker, which frees
// every slot; a late Done is then dropped. The Done of a nil or zero
// Permit does nothing. Acquiring a permit allocates it (32 bytes); Execute
// allocates nothing.
type Permit struct {
	b     *Breaker
	w     uint64
	start time.Duration // since the epoch: admission, for the slow rule and the max wait
	done  atomic.Bool
}

// Acquire asks the breaker to admit one call. On success the caller makes
// the call and reports its outcome with Done; on rejection it returns an
// error matching ErrOpen and a Permit whose Done does nothing.
func (b *Breaker) Acquire(ctx context.Context) (*Permit, error) {
	w := b.word.Load()
	if w&passMask != readyBit {
		var err error
		if w, err = b.admit(ctx, bulwark.Next{}, w); err != nil {
			return rejectedPermit, err
		}
	}
	p := &Permit{b: b, w: w}
	switch {
	case stateOf(w) == HalfOpen:
		b.watch(p)
	case b.timed:
		p.start = b.sinceEpoch()
	}
	return p, nil
}

// rejectedPermit is what Acquire returns with a rejection: its Done does
// nothing.
var rejectedPermit = &Permit{}

// Done reports the outcome of the admitted call, classified as Execute
// classifies it (ctx is the call's context, for the caller's own
// cancellation). Only the first Done of a Permit counts.
func (p *Permit) Done(ctx context.Context, err error) {
	if p == nil || p.b == nil || !p.done.CompareAndSwap(false, true) {
		return
	}
	b := p.b
	b.emit(ctx, bulwark.Next{}, b.record(bulwark.Next{}, p.w, p.start, b.cfg.rules.Classify(ctx, err), p))
}
