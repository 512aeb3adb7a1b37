package hedge

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark/budget"
)

// attemptCtx is the context of one attempt: its parent's values and
// deadline, and a cancellation of its own, so that the losers of a race can
// be stopped. The cancellable context behind it is made only when the
// attempt asks for Done (or derives a context that does): an attempt that
// never watches its context, and a call whose hedge never fires, allocate
// nothing for it. It is kept to 24 bytes: the primaries' contexts, carved
// from blocks (see primaries), are all that a call answered before the
// delay allocates, and the collector's share of such a call grows with
// the bytes it allocates.
type attemptCtx struct {
	parent context.Context
	// s is nil, or the Hedge's shared state that marks the calls it
	// records (Hedge.marked), until the attempt watches its context or
	// is cancelled: then a state of its own.
	s atomic.Pointer[attemptState]
}

// attemptState is what an attempt's context holds beyond its parent.
// The states an attempt starts in and the ones it takes when cancelled
// before it watched its context are shared (markedState, canceledState),
// so that neither allocates.
type attemptState struct {
	mark *budget.Share   // set when the hedge records the call in its budget
	ctx  context.Context // the cancellable context; nil until made
	stop context.CancelFunc
	// canceled is the shared state that this shared state, which has no
	// ctx, becomes when the attempt is cancelled.
	canceled *attemptState
}

// canceled is the context of every attempt cancelled before it watched its
// context: its Done is closed, its Err is context.Canceled.
var canceled, stopCanceled = context.WithCancel(context.Background())

func init() { stopCanceled() }

// canceledState is the state of an unmarked attempt cancelled before it
// watched its context.
var canceledState = &attemptState{ctx: canceled, stop: stopCanceled}

// markedState returns the shared state of the attempts of the calls a
// hedge records in the budget behind share.
func markedState(share *budget.Share) *attemptState {
	return &attemptState{mark: share, canceled: &attemptState{mark: share, ctx: canceled, stop: stopCanceled}}
}

var _ context.Context = (*attemptCtx)(nil)

func (a *attemptCtx) Deadline() (time.Time, bool) { return a.parent.Deadline() }
func (a *attemptCtx) String() string              { return "bulwark/hedge: attempt" }

// Value answers, beside the parent's values, the budget's mark of a call
// the hedge records, so that policies inside drawing from the same budget
// see it recorded without a context.WithValue per call.
func (a *attemptCtx) Value(key any) any {
	if s := a.s.Load(); s != nil && s.mark != nil {
		if v := s.mark.Value(key); v != nil {
			return v
		}
	}
	return a.parent.Value(key)
}

func (a *attemptCtx) Done() <-chan struct{} { return a.ensure().Done() }

func (a *attemptCtx) Err() error {
	if s := a.s.Load(); s != nil && s.ctx != nil {
		return s.ctx.Err()
	}
	return a.parent.Err()
}

// AfterFunc lets contexts derived from the attempt follow its cancellation
// without a goroutine of their own (the context package looks for this
// method).
func (a *attemptCtx) AfterFunc(f func()) func() bool { return context.AfterFunc(a.ensure(), f) }

// ensure returns the attempt's cancellable context, made if need be. Of
// two goroutines that make it at once, or of a making and a cancel, the
// first to publish wins and the other's context is freed.
func (a *attemptCtx) ensure() context.Context {
	for {
		s := a.s.Load()
		if s != nil && s.ctx != nil {
			return s.ctx
		}
		n := &attemptState{}
		if s != nil {
			n.mark = s.mark
		}
		n.ctx, n.stop = context.WithCancel(a.parent)
		if a.s.CompareAndSwap(s, n) {
			return n.ctx
		}
		n.stop()
	}
}

// cancel stops the attempt: its context reports context.Canceled.
func (a *attemptCtx) cancel() {
	for {
		s := a.s.Load()
		if s != nil && s.ctx != nil {
			s.stop()
			return
		}
		n := canceledState
		if s != nil {
			n = s.canceled
		}
		if a.s.CompareAndSwap(s, n) {
			return
		}
	}
}

// release ends the attempt once it has returned: its context is
// cancelled, and the cancellable context, if one was made, freed. A
// context kept past its call is then cancelled whether it was watched
// during the call or after it (by a goroutine the attempt started, which
// may run either side of the call's end), and one watched after it shares
// the cancelled context rather than making a cancellation that nothing
// would stop, held by its parent as long as the parent lives.
func (a *attemptCtx) release() { a.cancel() }
