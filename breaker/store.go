package breaker

import (
	"context"
	"runtime"
	"time"
	"weak"
)

// Store shares the state of breakers across the instances of a service,
// for WithStore: when one instance's breaker opens, the breakers of the
// same name in the other instances open too, for the time it has left,
// and the fleet's half-open probes are counted together. A breaker that
// cannot reach its store decides alone, as a breaker without one does.
// breaker/redisstore keeps the shared state in Redis.
//
// A breaker calls its store on transitions and when it admits a half-open
// probe, never on the closed path, so a breaker with a store costs what
// one without costs on every other call. Implementations are safe for
// concurrent use.
type Store interface {
	// Publish shares a transition of the breaker named name in this
	// instance. It must not block: a store queues the transition and
	// writes it later, keeping at least the latest of each name, and
	// shares an opening with the time it has left when written.
	Publish(name string, t Transition)
	// Watch delivers the fleet's transitions of the breakers named name to
	// apply, from the store's own goroutine, until stop is called; the
	// first delivery is the shared state as it is. apply returns quickly.
	Watch(name string, apply func(Transition)) (stop func())
	// AcquireProbe asks for one of the probes the fleet may send in the
	// half-open period that follows the shared opening seq: at most
	// probes of them within wait. It returns false when the fleet's
	// probes are taken, and an error when the store could not answer
	// within its own timeout and ctx: the breaker then decides alone.
	AcquireProbe(ctx context.Context, name string, seq uint64, probes int, wait time.Duration) (bool, error)
}

// Transition is a change of state as a Store shares it: a breaker opened
// (State Open, with the time left in its open period) or closed.
type Transition struct {
	State State
	// OpenFor is, for Open, the time left before the breaker admits
	// probes.
	OpenFor time.Duration
	// Reason is the reason of the transition where it happened
	// (ReasonConsecutiveFailures ...).
	Reason string
	// Seq is the store's number of the transition, increasing with each
	// one it shares for a name; 0 in a transition being published.
	Seq uint64
}

// ReasonShared is the reason of a transition a breaker made because its
// store delivered the fleet's (Event.Reason of its EventStateChange).
const ReasonShared = "shared"

// shared reports whether a transition for reason is shared with the
// fleet: those the breaker's outcomes cause. Isolate, Disable and Reset
// act on one instance, and adopted transitions are the fleet's already.
func shared(to State, reason string) bool {
	switch reason {
	case ReasonConsecutiveFailures, ReasonFailureRatio, ReasonSlowCallRatio, ReasonProbeFailed, ReasonHalfOpenTimeout:
		return to == Open
	case ReasonProbesSucceeded:
		return to == Closed
	}
	return false
}

// join connects the breaker to its store. The store holds the breaker
// weakly, and stops watching when the breaker is collected: a breaker
// with a store still needs no Close.
func (b *Breaker) join() {
	wp := weak.Make(b)
	stop := b.cfg.store.Watch(b.cfg.tel.Name, func(t Transition) {
		if b := wp.Value(); b != nil {
			b.adopt(t)
		}
	})
	runtime.AddCleanup(b, func(stop func()) { stop() }, stop)
}

// publish shares a transition the breaker made, if it is one the fleet
// shares.
func (b *Breaker) publish(ch change) {
	if b.cfg.store != nil && shared(ch.to, ch.reason) {
		b.cfg.store.Publish(b.cfg.tel.Name, Transition{State: ch.to, OpenFor: ch.openFor, Reason: ch.reason})
	}
}

// adopt applies a transition of the fleet. An isolated or disabled
// breaker keeps its forced state; an open breaker keeps its own open
// period and learns the shared opening's number, for its probes.
func (b *Breaker) adopt(t Transition) {
	b.ready()
	b.mu.Lock()
	cur := stateOf(b.word.Load())
	var ch change
	switch {
	case cur == Isolated || cur == Disabled:
	case t.State == Open && t.OpenFor > 0:
		if cur != Open {
			ch = b.setOpenLocked(t.OpenFor, ReasonShared)
		}
		b.sharedSeq.Store(t.Seq)
	case t.State == Closed && (cur == Open || cur == HalfOpen):
		ch = b.setLocked(Closed, ReasonShared)
	}
	next := b.lastNext
	b.mu.Unlock()
	b.emitDetached(context.Background(), next, ch)
}

// fleetProbe asks the store for one of the fleet's probes of the shared
// opening seq; a store that cannot answer leaves the decision to the
// breaker. Once the store has refused, the breaker refuses without asking
// until the half-open wait has passed, when the fleet's probes of the
// opening are free again.
func (b *Breaker) fleetProbe(ctx context.Context, seq uint64) bool {
	if r := b.fleetRefused.Load(); r != nil && r.seq == seq && b.sinceEpoch() < r.until {
		return false
	}
	ok, err := b.cfg.store.AcquireProbe(ctx, b.cfg.tel.Name, seq, b.cfg.probes, b.cfg.halfOpenWait)
	if err == nil && !ok {
		b.fleetRefused.Store(&refusal{seq: seq, until: addSat(b.sinceEpoch(), b.cfg.halfOpenWait)})
	}
	return ok || err != nil
}

// refusal is the store's refusal of a probe of the shared opening seq,
// which the breaker keeps until the breaker's epoch reaches until.
type refusal struct {
	seq   uint64
	until time.Duration
}
