package breaker

import (
	"context"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/outcome"
)

// Permit is the admission of one call by AcquireInto or Acquire, for code
// that cannot hand the breaker a function (a stream, a callback API).
// Report its outcome with Done, once.
//
// A Permit cannot be reported twice: a Done after the first is ignored. It
// cannot leak a half-open probe slot either: a half-open probe whose Done
// does not come within WithHalfOpenMaxWait of its admission reopens the
// breaker, which frees every slot, and its late Done is dropped, as is the
// Done of any permit admitted before the breaker last changed state. The
// Done of a nil or zero Permit, or of one whose admission was refused,
// does nothing.
//
// A Permit is a value the caller owns: AcquireInto admits a call into a
// Permit held in a local variable or in the struct of what it guards, and
// allocates nothing; the breaker keeps no pointer to it. Like most values,
// and unlike the Breaker, it is not safe for concurrent use: when two
// goroutines may end the call (a stream's reader and its cancellation),
// they report through a sync.Once. An atomic test in Done would make it
// safe, at the cost of a locked instruction in every call, which would
// make a two-step call dearer than Execute. A Permit must not be copied
// once admitted (go vet reports copies); it may be admitted again with
// AcquireInto once reported.
type Permit struct {
	_     noCopy
	b     *Breaker // nil in a zero Permit, and once reported
	w     uint64
	start time.Duration // since the epoch: admission, for the slow rule and the max wait
}

// noCopy makes go vet's copylocks check report a copied Permit, whose
// copy could be reported again.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}

// admissions are the admission times of the two-step probes of a
// half-open period that have not reported. A probe's Done takes one entry
// of its time out: entries at one time are alike, so the breaker needs no
// pointer to the Permit.
type admissions []time.Duration

// AcquireInto asks the breaker to admit one call into p, which it
// overwrites. On success the caller makes the call and reports its outcome
// with p.Done; on rejection it returns an error matching ErrOpen and
// leaves p zero, so that p.Done does nothing. It allocates nothing.
//
// A caller whose code may panic between AcquireInto and Done reports the
// panic as Execute does, as a failure, from a deferred function: else a
// probe's slot is held until WithHalfOpenMaxWait reclaims it.
func (b *Breaker) AcquireInto(ctx context.Context, p *Permit) error {
	w := b.word.Load()
	if w&passMask != readyBit {
		var err error
		if w, err = b.admit(ctx, bulwark.Next{}, w); err != nil {
			*p = Permit{}
			return err
		}
	}
	*p = Permit{b: b, w: w}
	if stateOf(w) == HalfOpen || b.timed {
		b.started(p)
	}
	return nil
}

// Acquire is AcquireInto with a Permit of its own, which it allocates (24
// bytes) unless the call is rejected: then it returns an error matching
// ErrOpen and a Permit whose Done does nothing.
func (b *Breaker) Acquire(ctx context.Context) (*Permit, error) {
	w, err := b.admitPermit(ctx)
	if err != nil {
		return rejectedPermit, err
	}
	p := &Permit{b: b, w: w}
	b.started(p)
	return p, nil
}

// rejectedPermit is what Acquire returns with a rejection: its Done does
// nothing.
var rejectedPermit = &Permit{}

// admitPermit decides on a two-step call and returns the state word it
// runs under.
func (b *Breaker) admitPermit(ctx context.Context) (uint64, error) {
	w := b.word.Load()
	if w&passMask != readyBit {
		return b.admit(ctx, bulwark.Next{}, w)
	}
	return w, nil
}

// started notes the admission of p: a half-open probe's max wait starts,
// and the slow rule needs the admission time.
func (b *Breaker) started(p *Permit) {
	switch {
	case stateOf(p.w) == HalfOpen:
		b.watch(p)
	case b.timed:
		p.start = b.sinceEpoch()
	}
}

// Done reports the outcome of the admitted call, classified as Execute
// classifies it (ctx is the call's context, for the caller's own
// cancellation). Only the first Done of a Permit counts.
func (p *Permit) Done(ctx context.Context, err error) {
	if p == nil || p.b == nil {
		return
	}
	b := p.b
	p.b = nil
	if err == nil && b.fast && stateOf(p.w) != HalfOpen {
		// Execute's common case, inline as there: no lock, and no write
		// but the striped count unless a failure streak ends.
		b.calls.AddAt(int(outcome.Success), 1)
		if b.consec.Load() != 0 {
			b.endStreak(p.w)
		}
		return
	}
	p.report(ctx, b, err)
}

// report records, in b, the outcome of a call that Done's common case
// does not cover.
func (p *Permit) report(ctx context.Context, b *Breaker, err error) {
	b.emit(ctx, bulwark.Next{}, b.record(bulwark.Next{}, p.w, p.start, b.cfg.rules.Classify(ctx, err), p))
}
