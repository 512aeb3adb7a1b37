package hedge

import (
	"math"
	"slices"
	"sync/atomic"
	"time"
)

// latency tracks the latencies of recent successful attempts and derives
// the hedge delay from them. Recording is lock-free: a slot in a ring taken
// with an atomic counter. Every quarter of the window, the caller that
// fills the ring to that point recomputes the quantile on a scratch copy,
// under a try-lock that others skip rather than wait on; the delay is read
// with one atomic load.
type latency struct {
	q       float64
	floor   time.Duration
	ring    []atomic.Int64 // nanoseconds; 0: empty
	next    atomic.Uint64
	current atomic.Int64 // the delay, nanoseconds
	busy    atomic.Bool  // a recomputation is running
	scratch []int64      // owned by whoever holds busy
}

func newLatency(q float64, window int, floor time.Duration) *latency {
	l := &latency{q: q, floor: floor, ring: make([]atomic.Int64, window), scratch: make([]int64, 0, window)}
	l.current.Store(int64(floor))
	return l
}

func (l *latency) delay() time.Duration { return time.Duration(l.current.Load()) }

func (l *latency) record(d time.Duration) {
	n := l.next.Add(1)
	l.ring[(n-1)%uint64(len(l.ring))].Store(max(int64(d), 1))
	step := uint64(max(len(l.ring)/4, 1))
	if n%step == 0 && l.busy.CompareAndSwap(false, true) {
		l.recompute()
		l.busy.Store(false)
	}
}

// recompute sets the delay to the quantile of the recorded latencies, or
// to the floor. It requires busy held.
func (l *latency) recompute() {
	s := l.scratch[:0]
	for i := range l.ring {
		if v := l.ring[i].Load(); v > 0 {
			s = append(s, v)
		}
	}
	l.scratch = s
	if len(s) < len(l.ring)/4 {
		return
	}
	slices.Sort(s)
	rank := int(math.Ceil(l.q*float64(len(s)))) - 1 // nearest rank
	v := s[max(min(rank, len(s)-1), 0)]
	l.current.Store(max(v, int64(l.floor)))
}
