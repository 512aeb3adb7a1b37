package coalesce

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// call is one shared execution of the protected call for a key, and the
// context it runs under.
//
// The shared context carries the leader's values (its span, its baggage,
// the result cell of its bulwark.Get) but neither its deadline nor its
// cancellation: it is cancelled when every caller waiting for the call has
// left, and when the call has returned. It is the call itself, not a
// context.WithCancel of a context.WithoutCancel, to spare the leader two
// allocations: it implements AfterFunc, so that contexts derived from it
// (a timeout inside the Coalesce) are cancelled with it without a
// goroutine each, as children of the standard library's own are.
type call struct {
	key    string
	values context.Context // context.WithoutCancel(leader's ctx)
	holder sharer          // the leader's Get holder, if it used Get

	mu       sync.Mutex
	done     atomic.Value  // chan struct{}, made at the first Done
	err      error         // the shared context's, once cancelled
	afters   *afterFuncs   // run when cancelled; made at the first AfterFunc
	attached int           // callers still waiting for the call, the leader included
	finished chan struct{} // closed when the call has returned; made for the first waiter
	ended    bool

	// The outcome, written before finished is closed.
	outcome error
	failed  *failure // the call did not return: it panicked or its goroutine exited
}

// failure is how a shared call that did not return ended.
type failure struct {
	value  any    // the panic value, nil for runtime.Goexit
	stack  []byte // the panicking goroutine's stack
	goexit bool
}

// afterFuncs are the functions AfterFunc registered, apart from the call
// since few calls have any.
type afterFuncs struct {
	list   []afterFunc
	nextID uint64
}

type afterFunc struct {
	id uint64
	f  func()
}

// closedChan is the Done channel of a call cancelled before anyone asked
// for it.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

func (c *call) Deadline() (time.Time, bool) { return time.Time{}, false }

func (c *call) Done() <-chan struct{} {
	if d := c.done.Load(); d != nil {
		return d.(chan struct{})
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if d := c.done.Load(); d != nil {
		return d.(chan struct{})
	}
	d := closedChan
	if c.err == nil {
		d = make(chan struct{})
	}
	c.done.Store(d)
	return d
}

func (c *call) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Value hides the leader's cancellation, as context.WithoutCancel does,
// so that context.Cause and the context package see this context's own.
func (c *call) Value(key any) any { return c.values.Value(key) }

// AfterFunc arranges for f to run once the shared context is cancelled;
// the context package uses it for the contexts derived from this one.
func (c *call) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	if c.afters == nil {
		c.afters = new(afterFuncs)
	}
	a := c.afters
	a.nextID++
	id := a.nextID
	a.list = append(a.list, afterFunc{id: id, f: f})
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, x := range a.list {
			if x.id == id {
				a.list = append(a.list[:i], a.list[i+1:]...)
				return true
			}
		}
		return false
	}
}

func (c *call) String() string { return "coalesce.sharedContext" }

// cancelLocked cancels the shared context, if it is not yet, and runs
// what was registered with AfterFunc, without the lock. It requires mu
// held, and releases it.
func (c *call) cancelLocked() {
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = context.Canceled
	if d := c.done.Load(); d != nil {
		close(d.(chan struct{}))
	} // else Done, seeing err, returns closedChan
	var afters []afterFunc
	if c.afters != nil {
		afters, c.afters.list = c.afters.list, nil
	}
	c.mu.Unlock()
	for _, a := range afters {
		a.f()
	}
}

// join attaches one more waiter, unless the call has ended or every
// caller has left it (its context is cancelled, its outcome will be no
// one's). It returns the channel closed when the call has returned.
func (c *call) join() (chan struct{}, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended || c.err != nil {
		return nil, false
	}
	c.attached++
	if c.finished == nil {
		c.finished = make(chan struct{})
	}
	return c.finished, true
}

// leave detaches a caller whose context ended, and cancels the shared
// context when nobody is left waiting. It reports whether the caller left
// before the call returned.
func (c *call) leave() bool {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return false
	}
	c.attached--
	if c.attached > 0 {
		c.mu.Unlock()
		return true
	}
	c.cancelLocked()
	return true
}

// end records the outcome, wakes the waiters and cancels the shared
// context: the call has returned, and what derived from its context is
// released.
func (c *call) end(err error, failed *failure) {
	c.mu.Lock()
	c.ended = true
	c.outcome, c.failed = err, failed
	if fin := c.finished; fin != nil {
		close(fin)
	}
	c.cancelLocked()
}
