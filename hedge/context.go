package hedge

import (
	"context"
	"sync"
	"time"

	"github.com/bulwark-go/bulwark/budget"
)

// attemptCtx is the context of one attempt: its parent's values and
// deadline, and a cancellation of its own, so that the losers of a race can
// be stopped. The cancellable context behind it is made only when the
// attempt asks for Done (or derives a context that does): an attempt that
// never watches its context, and a call whose hedge never fires, allocate
// nothing for it.
type attemptCtx struct {
	parent context.Context
	mark   *budget.Share // set when the hedge records the call in its budget

	mu       sync.Mutex
	inner    context.Context // nil until needed
	stop     context.CancelFunc
	canceled bool
}

var _ context.Context = (*attemptCtx)(nil)

func (a *attemptCtx) Deadline() (time.Time, bool) { return a.parent.Deadline() }
func (a *attemptCtx) String() string              { return "bulwark/hedge: attempt" }

// Value answers, beside the parent's values, the budget's mark of a call
// the hedge records, so that policies inside drawing from the same budget
// see it recorded without a context.WithValue per call.
func (a *attemptCtx) Value(key any) any {
	if a.mark != nil {
		if v := a.mark.Value(key); v != nil {
			return v
		}
	}
	return a.parent.Value(key)
}

func (a *attemptCtx) Done() <-chan struct{} { return a.ensure().Done() }

func (a *attemptCtx) Err() error {
	a.mu.Lock()
	inner, canceled := a.inner, a.canceled
	a.mu.Unlock()
	switch {
	case inner != nil:
		return inner.Err()
	case canceled:
		return context.Canceled
	}
	return a.parent.Err()
}

// AfterFunc lets contexts derived from the attempt follow its cancellation
// without a goroutine of their own (the context package looks for this
// method).
func (a *attemptCtx) AfterFunc(f func()) func() bool { return context.AfterFunc(a.ensure(), f) }

func (a *attemptCtx) ensure() context.Context {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.inner == nil {
		a.inner, a.stop = context.WithCancel(a.parent)
		if a.canceled {
			a.stop()
		}
	}
	return a.inner
}

// cancel stops the attempt: its context reports context.Canceled.
func (a *attemptCtx) cancel() {
	a.mu.Lock()
	a.canceled = true
	if a.stop != nil {
		a.stop()
	}
	a.mu.Unlock()
}

// release frees the cancellable context, if one was made, once the attempt
// has returned.
func (a *attemptCtx) release() {
	a.mu.Lock()
	if a.stop != nil {
		a.stop()
	}
	a.mu.Unlock()
}
