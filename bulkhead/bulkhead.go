package bulkhead

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/core"
	"github.com/bulwark-go/bulwark/internal/counter"
	"github.com/bulwark-go/bulwark/internal/observe"
	"github.com/bulwark-go/bulwark/internal/outcome"
	"go.opentelemetry.io/otel/metric"
)

// Errors are values of unexported comparable struct types, as in every
// bulwark policy: errors.Is matches a sentinel by ==, and each rejection's
// Is matches bulwark.ErrRejected. None of them is allocated per call.

// ErrFull is matched, with errors.Is, by every rejection of a bulkhead or
// an adaptive limiter, and matches bulwark.ErrRejected: the call found no
// free permit and no room (or no time) to wait for one. A rejection
// carries no retry hint: a permit comes back when a call ends, which the
// bulkhead cannot foresee.
var ErrFull error = full{}

// full is a rejection; waited marks one that waited the maximum time in
// the queue.
type full struct{ waited bool }

func (e full) Error() string {
	if e.waited {
		return "bulwark/bulkhead: full (waited the maximum time in the queue)"
	}
	return "bulwark/bulkhead: full"
}
func (full) Is(t error) bool { return t == ErrFull || t == bulwark.ErrRejected }

var errQueueTimeout error = full{waited: true}

// ErrZeroValue is matched, with errors.Is, by the error every call through
// a zero Bulkhead or Adaptive returns: a limit comes only from New or
// NewAdaptive. The error's message names the type. It does not match
// bulwark.ErrRejected: it is a programming error, not a full bulkhead, and
// no policy around it should take it for one.
var ErrZeroValue error = zeroValue{}

// zeroValue names the zero type that was used; ErrZeroValue names none.
type zeroValue struct{ typ, ctor string }

func (e zeroValue) Error() string {
	if e.typ == "" {
		return "bulwark/bulkhead: a zero bulkhead has no limit; build it with New or NewAdaptive"
	}
	return "bulwark/bulkhead: a zero bulkhead." + e.typ + " has no limit; build it with bulkhead." + e.ctor
}
func (zeroValue) Is(t error) bool { return t == ErrZeroValue }

var (
	errZeroBulkhead error = zeroValue{"Bulkhead", "New"}
	errZeroAdaptive error = zeroValue{"Adaptive", "NewAdaptive"}
)

// gate is the semaphore both the fixed and the adaptive limiter use: a
// number of permits (which the adaptive limiter moves), a count of the
// permits out of its pool (running calls', and the free ones a fixed
// Bulkhead's processors keep: see permitCache), and a bounded FIFO queue
// of waiting calls.
type gate struct {
	// Read by every call, written only when the adaptive limit moves or
	// calls queue.
	limit    atomic.Int64 // permits
	queued   atomic.Int64 // waiters in the queue, read without the lock
	maxQueue int
	maxWait  time.Duration
	cache    *permitCache // nil: none (an Adaptive, or a small limit)
	_        [lineBytes - 40]byte

	// Permits out of the pool: running, or in the cache. Written twice
	// by every call of an Adaptive (a Bulkhead's calls mostly use their
	// processor's cache), so on a line pair of its own, where the writes
	// do not evict what every call reads from the other cores' caches.
	inflight atomic.Int64
	_        [lineBytes - 8]byte

	mu      sync.Mutex
	waiters waitQueue
}

// lineBytes spans two cache lines: x86 prefetches lines in adjacent pairs.
const lineBytes = 128

// waiter is one queued call. ready is closed when it is granted a permit.
type waiter struct {
	ready   chan struct{}
	granted bool // under gate.mu
	prev    *waiter
	next    *waiter
}

type waitQueue struct{ head, tail *waiter }

func (q *waitQueue) push(w *waiter) {
	w.prev = q.tail
	if q.tail != nil {
		q.tail.next = w
	} else {
		q.head = w
	}
	q.tail = w
}

func (q *waitQueue) remove(w *waiter) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		q.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		q.tail = w.prev
	}
	w.prev, w.next = nil, nil
}

// tryAcquire takes a permit if one is free and nobody queues for it. One
// atomic add, undone if it went past the limit: cheaper under contention
// than a compare-and-swap loop. The undo is a release, so a waiter that the
// overshoot kept out is granted.
func (g *gate) tryAcquire() bool {
	if g.queued.Load() != 0 {
		return false
	}
	if g.inflight.Add(1) <= g.limit.Load() {
		return true
	}
	g.release()
	return false
}

// takeLocked takes a permit without regard to the queue. It requires g.mu
// held.
func (g *gate) takeLocked() bool {
	for {
		n := g.inflight.Load()
		if n >= g.limit.Load() {
			return false
		}
		if g.inflight.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// acquireSlow queues for a permit. It returns nil with a permit held,
// ErrFull (or a queue timeout) without one, or ctx.Err() if the caller gave
// up; a permit granted as the caller gave up is returned at once.
func (g *gate) acquireSlow(ctx context.Context) error {
	g.mu.Lock()
	// Count this call as queued before the last look for a free permit: a
	// release that decrements after that look then sees it and grants.
	g.queued.Add(1)
	g.collectLocked()
	if g.takeLocked() {
		g.queued.Add(-1)
		g.mu.Unlock()
		return nil
	}
	if int(g.queued.Load()) > g.maxQueue {
		g.queued.Add(-1)
		g.mu.Unlock()
		return ErrFull
	}
	w := &waiter{ready: make(chan struct{})}
	g.waiters.push(w)
	g.mu.Unlock()

	var timeout <-chan time.Time
	if g.maxWait > 0 {
		t := time.NewTimer(g.maxWait)
		defer t.Stop()
		timeout = t.C
	}
	var err error
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-timeout:
		err = errQueueTimeout
	}
	g.mu.Lock()
	if w.granted {
		// Granted while giving up: pass the permit on.
		g.mu.Unlock()
		g.release()
		return err
	}
	g.waiters.remove(w)
	g.queued.Add(-1)
	g.mu.Unlock()
	return err
}

// release returns a permit: to the first waiter if one queues, else to the
// pool.
func (g *gate) release() { g.releaseN(1) }

// releaseN returns n permits to the pool, and grants waiters.
func (g *gate) releaseN(n int64) {
	g.inflight.Add(-n)
	if g.queued.Load() != 0 {
		g.grant()
	}
}

// grant hands free permits to waiters, first come first served.
func (g *gate) grant() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.collectLocked()
	for g.waiters.head != nil && g.takeLocked() {
		w := g.waiters.head
		g.waiters.remove(w)
		g.queued.Add(-1)
		w.granted = true
		close(w.ready)
	}
}

// Bulkhead caps the calls in flight: at most the limit given to New run at
// once; the others wait, first come first served, in a queue of
// WithMaxQueue places for at most WithMaxWait, or are rejected with an
// error matching ErrFull (at once, by default). A call holds its permit
// for as long as it runs, so a Bulkhead placed inside a timeout built with
// timeout.WithAbandon bounds the functions running, abandoned ones
// included, and one placed outside it only the callers waiting.
//
// Execute is the method to call, or the Bulkhead as a stage of a bulwark
// pipeline; Status and Snapshot read its use. A Bulkhead is safe for
// concurrent use.
//
// The zero value has no limit: its Execute runs nothing and returns an
// error matching ErrZeroValue; build a Bulkhead with New.
type Bulkhead struct {
	g        gate
	name     string
	reporter core.Reporter
	rejected counter.Striped
}

var (
	_ bulwark.Stage       = (*Bulkhead)(nil)
	_ bulwark.Inspectable = (*Bulkhead)(nil)
)

// New returns a Bulkhead that lets at most max calls run at once. Without
// options a call that finds every permit taken is rejected at once with
// ErrFull. It panics if max < 1.
func New(max int, opts ...Option) *Bulkhead {
	if max < 1 {
		panicf("New", "max must be >= 1, got %d", max)
	}
	c := newConfig(opts, Option.applyBulkhead)
	b := &Bulkhead{name: c.tel.Name, reporter: c.tel.Reporter("bulkhead")}
	b.g.limit.Store(int64(max))
	b.g.maxQueue, b.g.maxWait = c.maxQueue, c.maxWait
	b.g.cache = newPermitCache(max)
	instrument(b, false)
	return b
}

// Execute runs fn once a permit is held, and returns the permit when fn
// returns or panics (the panic goes on unchanged). Without a permit it
// returns an error matching ErrFull, or ctx.Err() if the caller gave up
// while queued, without running fn.
func (b *Bulkhead) Execute(ctx context.Context, fn func(context.Context) error) error {
	if ctx == nil {
		return bulwark.ErrNilContext
	}
	if fn == nil {
		return bulwark.ErrNilFunc
	}
	i, ok := b.g.acquire()
	if !ok {
		if err := b.wait(ctx, bulwark.Next{}); err != nil {
			return err
		}
		i = -1
	}
	defer b.g.releaseAt(i)
	return fn(ctx)
}

// ExecuteStage implements bulwark.Stage.
func (b *Bulkhead) ExecuteStage(ctx context.Context, next bulwark.Next) error {
	i, ok := b.g.acquire()
	if !ok {
		if err := b.wait(ctx, next); err != nil {
			return err
		}
		i = -1
	}
	defer b.g.releaseAt(i)
	return next.Run(ctx)
}

// wait is the slow path: no free permit, or a zero Bulkhead, whose limit
// of 0 sends every call here, so the success path pays nothing for the
// check.
func (b *Bulkhead) wait(ctx context.Context, next bulwark.Next) error {
	if b.reporter == nil {
		return errZeroBulkhead
	}
	err := b.g.acquireSlow(ctx)
	if err != nil && errors.Is(err, ErrFull) {
		b.rejected.Add(1)
		if b.reporter.Listening(ctx, next) {
			b.reporter.Report(ctx, next, bulwark.Event{Type: bulwark.EventRejected, Err: err})
		}
	}
	return err
}

// Snapshot is what a bulkhead knows at one moment.
type Snapshot struct {
	Limit, InFlight, Queued int
	Rejected                int64 // since creation
}

// Snapshot returns the bulkhead's limit, use and rejections.
func (b *Bulkhead) Snapshot() Snapshot {
	return Snapshot{Limit: int(b.g.limit.Load()), InFlight: int(b.g.running()),
		Queued: int(b.g.queued.Load()), Rejected: b.rejected.Load()}
}

// Status returns the bulkhead's kind ("bulkhead"), name, limit, calls in
// flight and queued, and the calls it rejected since it was built. It
// takes no lock.
func (b *Bulkhead) Status() bulwark.Status { return b.g.status("bulkhead", b.name, &b.rejected) }

// status is the Status of a policy built on g.
func (g *gate) status(kind, name string, rejected *counter.Striped) bulwark.Status {
	return bulwark.Status{Kind: kind, Name: name, Rejected: rejected.Load(),
		InFlight: int(g.running()), Limit: int(g.limit.Load()), Queued: int(g.queued.Load())}
}

// Metric names of the gauges.
const (
	MetricInFlight = "bulwark.bulkhead.inflight"
	MetricQueued   = "bulwark.bulkhead.queued"
	MetricLimit    = "bulwark.limit"
)

func (b *Bulkhead) gate() *gate                  { return &b.g }
func (b *Bulkhead) telemetry() core.Reporter     { return b.reporter }
func (b *Bulkhead) rejections() *counter.Striped { return &b.rejected }

// gated is a policy built on a gate: a Bulkhead or an Adaptive.
type gated[T any] interface {
	*T
	gate() *gate
	telemetry() core.Reporter
	rejections() *counter.Striped
}

// instrument registers the observable instruments of p: its rejections in
// bulwark.calls, the in-flight and queued gauges, and the limit gauge when
// limit is set. The callbacks reach p only through the weak registrations
// of internal/observe, so that a dropped policy is collected and its
// series go away with it.
func instrument[T any, P gated[T]](p P, limit bool) {
	r := p.telemetry()
	observe.Calls(r, (*T)(p), func(owner *T, _ outcome.Outcome) int64 { return P(owner).rejections().Load() }, outcome.Rejected)
	m := r.Meter()
	inflight, err1 := m.Int64ObservableGauge(MetricInFlight, metric.WithDescription("Calls running through a bulwark bulkhead."), metric.WithUnit("{call}"))
	queued, err2 := m.Int64ObservableGauge(MetricQueued, metric.WithDescription("Calls waiting in a bulwark bulkhead's queue."), metric.WithUnit("{call}"))
	if err1 != nil || err2 != nil {
		return
	}
	obs := []metric.Observable{inflight, queued}
	var lim metric.Int64ObservableGauge
	if limit {
		var err error
		if lim, err = m.Int64ObservableGauge(MetricLimit, metric.WithDescription("Current limit of a bulwark adaptive policy."), metric.WithUnit("{call}")); err != nil {
			return
		}
		obs = append(obs, lim)
	}
	attrs := metric.WithAttributes(r.Attributes()...)
	observe.Register(m, (*T)(p), func(owner *T, o metric.Observer) {
		g := P(owner).gate()
		o.ObserveInt64(inflight, g.running(), attrs)
		o.ObserveInt64(queued, g.queued.Load(), attrs)
		if limit {
			o.ObserveInt64(lim, g.limit.Load(), attrs)
		}
	}, obs...)
}
