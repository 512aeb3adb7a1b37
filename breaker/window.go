package breaker

import (
	"time"

	"github.com/bulwark-go/bulwark/internal/window"
)

// ratioWindow holds the recent outcomes the ratio rules look at. Its methods
// require the breaker's mu held.
type ratioWindow interface {
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
// bucket width from the breaker's epoch, in the window every bulwark
// policy shares: the window that ends with the current bucket holds the
// count of buckets the breaker was given, and an outcome is forgotten
// between span−width and span after it was recorded, when its bucket is
// reused.
type timeWindow struct{ w window.Window }

// The slots of a bucket's counts.
const (
	slotCalls = iota
	slotFailures
	slotSlow
)

func newTimeWindow(span time.Duration, buckets int) *timeWindow {
	tw := &timeWindow{}
	tw.w.Init(span/time.Duration(buckets), buckets)
	return tw
}

func (tw *timeWindow) add(at time.Duration, failure, slow bool) {
	c := tw.w.Add(int64(at))
	c[slotCalls]++
	if failure {
		c[slotFailures]++
	}
	if slow {
		c[slotSlow]++
	}
}

func (tw *timeWindow) counts(at time.Duration) (calls, failures, slow int) {
	i, _ := tw.w.Locate(int64(at))
	s := tw.w.Sum(i)
	return int(s[slotCalls]), int(s[slotFailures]), int(s[slotSlow])
}

func (tw *timeWindow) reset() { tw.w.Reset() }
