package operate

import (
	"context"
	"sync"
	"time"

	"github.com/bulwark-go/bulwark"
)

// ringSize bounds the recent events kept per policy.
const ringSize = 32

// ring holds a policy's recent events, fed by the observer the registry
// adds to the policy. A run of events that differ only in their details
// (a retry per call while a dependency is down) takes one record with a
// count, so that a burst does not push the transitions out. Rejections
// are not kept: an open breaker or a full bulkhead rejects at the call
// rate, the rejected count and rate say it, and the call path of a
// rejection takes no lock of the registry's.
type ring struct {
	mu   sync.Mutex
	buf  [ringSize]record
	next int // where the next record goes
	n    int // records held, up to ringSize
}

// record is one event, or a run of alike events: e is the last of them.
type record struct {
	first, last time.Time
	count       int
	e           bulwark.Event
}

func (r *ring) observe(_ context.Context, e bulwark.Event) {
	if e.Type == bulwark.EventRejected {
		return
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n > 0 {
		if last := &r.buf[(r.next+ringSize-1)%ringSize]; alike(last.e, e) {
			last.count++
			last.last = now
			last.e = e
			return
		}
	}
	r.buf[r.next] = record{first: now, last: now, count: 1, e: e}
	r.next = (r.next + 1) % ringSize
	r.n = min(r.n+1, ringSize)
}

// alike reports whether b continues a run of a: same type and reason, in
// the same pipeline. A state change is never part of a run.
func alike(a, b bulwark.Event) bool {
	return a.Type == b.Type && a.Type != bulwark.EventStateChange &&
		a.Reason == b.Reason && a.Pipeline == b.Pipeline
}

// records returns the records, newest first.
func (r *ring) records() []record {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]record, r.n)
	for i := range out {
		out[i] = r.buf[(r.next+ringSize-1-i)%ringSize]
	}
	return out
}

// reason returns the reason of the last transition to state, "" if the
// ring does not hold it.
func (r *ring) reason(state string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.n {
		e := r.buf[(r.next+ringSize-1-i)%ringSize].e
		if e.Type == bulwark.EventStateChange {
			if e.To == state {
				return e.Reason
			}
			return ""
		}
	}
	return ""
}
