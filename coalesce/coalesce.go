package coalesce

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/core"
	"github.com/bulwark-go/bulwark/internal/counter"
)

// EventShared is reported for each caller that received the outcome of a
// call it found in flight for its key, instead of running its own.
var EventShared = bulwark.NewEventType("shared")

// EventStale is reported for each caller that found a call in flight for
// its key and was served a stale value instead of waiting
// (WithStaleWhileRevalidate).
var EventStale = bulwark.NewEventType("stale")

// ErrNoValue is returned by Get to a caller that waited for a call of its
// key that returned without a value of the type it asked for: the call
// was made by Execute, or by Get of another type, or a policy inside the
// Coalesce turned its failure into a success without a value.
var ErrNoValue = errors.New("bulwark/coalesce: the shared call returned no value of the type asked for")

// errGoexit is what the waiters receive when the shared call's goroutine
// exited with runtime.Goexit (t.FailNow in a test).
var errGoexit = errors.New("bulwark/coalesce: the shared call's goroutine called runtime.Goexit")

// PanicError is the error a caller that waited for a shared call receives
// when that call panicked. The caller that ran it (the leader) receives
// the panic itself.
type PanicError struct {
	Value any    // the value passed to panic
	Stack []byte // the panicking goroutine's stack, from runtime/debug.Stack
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("bulwark/coalesce: the shared call panicked: %v", e.Value)
}

// Unwrap returns the panic value if it is an error, so that errors.Is and
// errors.As see it.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// A Coalesce makes concurrent calls with the same key share one execution
// of the call and its outcome, as golang.org/x/sync/singleflight does: the
// first caller of a key (the leader) runs the call on its own goroutine,
// and the callers of that key that arrive while it runs wait for its
// outcome instead of running their own. A waiter whose context ends
// leaves at once with ctx.Err(); the call goes on for the others, under a
// context cancelled only when every caller has left. A key is forgotten
// as soon as its call returns.
//
// Build a Coalesce with New, with a function that reads each call's key
// from its context, and share it. Under Execute, what the call shares is
// its effect (a cache entry it stores, which every caller reads once
// Execute returns nil): a waiter's own function never runs. Get hands
// every caller the call's value.
//
// The zero Coalesce has no key function: it runs every call on its own.
// A Coalesce is safe for concurrent use by multiple goroutines.
type Coalesce struct {
	key   func(context.Context) string
	stale staler

	mu    sync.Mutex
	calls map[string]*call
	peak  int // the most keys calls has held since it was made

	inFlight atomic.Int64    // keys with a call in flight
	waiting  atomic.Int64    // callers waiting for another's call
	counts   counter.Striped // by slot below

	reporter core.Reporter
	name     string
}

// The slots of Coalesce.counts.
const (
	slotCalls  = iota // calls run by a leader
	slotShared        // waiters that received a shared outcome
	slotStale         // waiters served a stale value
	slotLeft          // waiters that left before the outcome
)

var (
	_ bulwark.Stage       = (*Coalesce)(nil)
	_ bulwark.Inspectable = (*Coalesce)(nil)
)

// New returns a Coalesce that shares the calls for which key returns the
// same string. An empty key shares nothing: that call runs on its own, so
// that calls without a key (the key function found nothing in the
// context) are never handed each other's outcomes. New panics if key is
// nil.
func New(key func(ctx context.Context) string, opts ...Option) *Coalesce {
	if key == nil {
		panic("bulwark/coalesce: New: key function must not be nil")
	}
	var cfg config
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	return &Coalesce{
		key:      key,
		stale:    cfg.stale,
		reporter: cfg.tel.Reporter("coalesce"),
		name:     cfg.tel.Name,
	}
}

// Execute runs fn, or waits for the call in flight for the same key.
func (c *Coalesce) Execute(ctx context.Context, fn func(context.Context) error) error {
	return bulwark.RunStage(ctx, c, fn)
}

// ExecuteStage implements bulwark.Stage.
func (c *Coalesce) ExecuteStage(ctx context.Context, next bulwark.Next) error {
	if c.key == nil { // the zero Coalesce
		return next.Run(ctx)
	}
	k := c.key(ctx)
	if k == "" {
		return next.Run(ctx)
	}
	if ctx.Done() != nil {
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	c.mu.Lock()
	cl := c.calls[k]
	if cl != nil && c.stale != nil {
		c.mu.Unlock()
		if c.serveStale(ctx, next, k) {
			return nil
		}
		c.mu.Lock()
		cl = c.calls[k]
	}
	if cl != nil {
		if finished, ok := cl.join(); ok {
			c.mu.Unlock()
			return c.wait(ctx, next, cl, finished)
		}
		// Every caller has left that call, which is winding down: a new
		// one takes its key.
	}
	cl = &call{key: k, values: context.WithoutCancel(ctx), attached: 1}
	cl.holder, _ = ctx.Value(holderKey{}).(sharer)
	if c.calls == nil {
		c.calls = make(map[string]*call)
	}
	c.calls[k] = cl
	c.peak = max(c.peak, len(c.calls))
	c.mu.Unlock()
	c.inFlight.Add(1)
	return c.lead(ctx, next, cl)
}

// lead runs the shared call on the leader's goroutine.
func (c *Coalesce) lead(ctx context.Context, next bulwark.Next, cl *call) (err error) {
	c.counts.AddAt(slotCalls, 1)
	var stop func() bool
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { cl.leave() })
	}
	returned := false
	defer func() {
		if returned {
			return
		}
		f := &failure{value: recover()}
		f.goexit = f.value == nil // a panic(nil) is a *runtime.PanicNilError
		if !f.goexit {
			f.stack = debug.Stack()
		}
		if stop != nil {
			stop()
		}
		c.finish(cl, nil, f)
		if !f.goexit {
			panic(f.value)
		}
	}()
	err = next.Run(cl)
	returned = true
	left := stop != nil && !stop()
	c.finish(cl, err, nil)
	if left {
		return ctx.Err()
	}
	return err
}

// finish forgets the call's key and hands its outcome to the waiters.
func (c *Coalesce) finish(cl *call, err error, failed *failure) {
	c.mu.Lock()
	if c.calls[cl.key] == cl {
		delete(c.calls, cl.key)
		c.shrinkLocked()
	}
	c.mu.Unlock()
	c.inFlight.Add(-1)
	if cl.holder != nil {
		cl.holder.close()
	}
	cl.end(err, failed)
}

// shrinkLocked replaces the map of calls once most of its keys are gone:
// a Go map keeps its buckets for ever, and a burst of distinct keys would
// otherwise leave memory in use that no call needs. Each copy moves at
// most a quarter of the keys deleted since the last, so it is amortised.
// It requires mu held.
func (c *Coalesce) shrinkLocked() {
	const minPeak = 64
	n := len(c.calls)
	if c.peak < minPeak || n*4 > c.peak {
		return
	}
	if n == 0 {
		c.calls, c.peak = nil, 0
		return
	}
	m := make(map[string]*call, n)
	for k, v := range c.calls {
		m[k] = v
	}
	c.calls, c.peak = m, n
}

// wait waits for the outcome of a call the caller joined.
func (c *Coalesce) wait(ctx context.Context, next bulwark.Next, cl *call, finished chan struct{}) error {
	c.waiting.Add(1)
	defer c.waiting.Add(-1)
	select {
	case <-finished:
	case <-ctx.Done():
		cl.leave()
		c.counts.AddAt(slotLeft, 1)
		return ctx.Err()
	}
	c.counts.AddAt(slotShared, 1)
	if c.reporter.Listening(ctx, next) {
		c.reporter.Report(ctx, next, bulwark.Event{Type: EventShared, Err: cl.outcome})
	}
	switch f := cl.failed; {
	case f != nil && f.goexit:
		return errGoexit
	case f != nil:
		return &PanicError{Value: f.value, Stack: f.stack}
	case cl.outcome != nil:
		return cl.outcome
	}
	if cl.holder != nil && cl.holder.supply(ctx) {
		return nil
	}
	if _, isGet := ctx.Value(holderKey{}).(sharer); isGet {
		return ErrNoValue
	}
	return nil
}

// serveStale serves the caller a stale value, if the store has one recent
// enough.
func (c *Coalesce) serveStale(ctx context.Context, next bulwark.Next, key string) bool {
	if !c.stale.serve(ctx, key) {
		return false
	}
	c.counts.AddAt(slotStale, 1)
	if c.reporter.Listening(ctx, next) {
		c.reporter.Report(ctx, next, bulwark.Event{Type: EventStale})
	}
	return true
}

// Snapshot is what a Coalesce knows at one moment.
type Snapshot struct {
	InFlight int // keys with a call in flight
	Waiting  int // callers waiting for another's call now

	// Since the Coalesce was built:
	Calls  int64 // calls run, one per leader
	Shared int64 // callers that received another's outcome
	Stale  int64 // callers served a stale value instead of waiting
	Left   int64 // waiting callers that left when their context ended
}

// Snapshot returns the calls in flight and the counts so far. It takes no
// lock.
func (c *Coalesce) Snapshot() Snapshot {
	return Snapshot{
		InFlight: int(c.inFlight.Load()),
		Waiting:  int(c.waiting.Load()),
		Calls:    c.counts.LoadAt(slotCalls),
		Shared:   c.counts.LoadAt(slotShared),
		Stale:    c.counts.LoadAt(slotStale),
		Left:     c.counts.LoadAt(slotLeft),
	}
}

// Status returns the Coalesce's state in the shape every policy shares:
// Kind "coalesce", its Name, InFlight the keys with a call in flight and
// Queued the callers waiting for them. The counts of calls run and shared
// are in Snapshot. It takes no lock and allocates nothing.
func (c *Coalesce) Status() bulwark.Status {
	return bulwark.Status{
		Kind:     "coalesce",
		Name:     c.name,
		InFlight: int(c.inFlight.Load()),
		Queued:   int(c.waiting.Load()),
	}
}
