package breaker

import "time"

// window holds the recent outcomes the ratio rules look at. Its methods
// require the breaker's mu held.
type window interface {
	// add records one outcome at offset at from the breaker's epoch.
	add(at time.Duration, failure, slow bool)
	// counts returns the calls, failures and slow calls in the window.
	counts(at time.Duration) (calls, failures, slow int)
	reset()
}

// countWindow is a ring of the last n outcomes.
type countWindow struct {
	ring     []uint8 // bit 0: failure, bit 1: slow
	next     int     // the slot the next outcome goes to
	filled   int
	failures int
	slow     int
}

const (
	bitFailure = 1 << iota
	bitSlow
)

func newCountWindow(n int) *countWindow { return &countWindow{ring: make([]uint8, n)} }

func (w *countWindow) add(_ time.Duration, failure, slow bool) {
	if w.filled == len(w.ring) {
		old := w.ring[w.next]
		w.failures -= int(old & bitFailure)
		w.slow -= int(old&bitSlow) >> 1
	} else {
		w.filled++
	}
	var v uint8
	if failure {
		v |= bitFailure
		w.failures++
	}
	if slow {
		v |= bitSlow
		w.slow++
	}
	w.ring[w.next] = v
	w.next = (w.next + 1) % len(w.ring)
}

func (w *countWindow) counts(time.Duration) (int, int, int) { return w.filled, w.failures, w.slow }

func (w *countWindow) reset() {
	clear(w.ring)
	w.next, w.filled, w.failures, w.slow = 0, 0, 0, 0
}

// timeWindow splits its span into buckets aligned on multiples of the
// bucket width from the breaker's epoch. It covers the current bucket and
// the ones before it, up to the bucket count: an outcome is forgotten
// between span−width and span after it was recorded, when its bucket is
// reused.
type timeWindow struct {
	width   time.Duration
	buckets []bucket
}

type bucket struct {
	index                 int64 // which width-long slice of time it holds
	calls, failures, slow int
}

func newTimeWindow(span time.Duration, buckets int) *timeWindow {
	w := &timeWindow{width: span / time.Duration(buckets), buckets: make([]bucket, buckets)}
	w.reset()
	return w
}

func (w *timeWindow) add(at time.Duration, failure, slow bool) {
	i := int64(at / w.width)
	b := &w.buckets[i%int64(len(w.buckets))]
	if b.index != i {
		*b = bucket{index: i}
	}
	b.calls++
	if failure {
		b.failures++
	}
	if slow {
		b.slow++
	}
}

func (w *timeWindow) counts(at time.Duration) (calls, failures, slow int) {
	i := int64(at / w.width)
	for _, b := range w.buckets {
		if b.index > i-int64(len(w.buckets)) && b.index <= i {
			calls += b.calls
			failures += b.failures
			slow += b.slow
		}
	}
	return calls, failures, slow
}

func (w *timeWindow) reset() {
	for i := range w.buckets {
		w.buckets[i] = bucket{index: -1}
	}
}
