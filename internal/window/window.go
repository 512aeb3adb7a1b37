// Package window is the one bucketed time window of bulwark's policies:
// the breaker's time window, the throttler's history and the sliding-window
// rate limiter all count in it.
//
// A Window is a ring of n buckets, each width long, aligned on multiples
// of width from an origin of the caller's choosing (its epoch, or the Unix
// epoch). A bucket holds Counts: three counts whose meaning is the
// caller's (calls, failures and slow calls for the breaker). The window
// that ends with bucket i is buckets i−n+1 to i. The ring reuses a
// bucket's slot for a later slice of time by clearing it, so a count is
// forgotten whole with its bucket, between (n−1)·width and n·width after
// it was made.
//
// Times are nanoseconds from the origin as an int64, negative before it: a
// policy built outside a testing/synctest bubble and used inside it reads
// times before its epoch. Bucket i holds [i·width, (i+1)·width), rounded
// towards minus infinity, so buckets before the origin are as wide as the
// others, and no time from math.MinInt64 to math.MaxInt64 overflows.
//
// A reading can go stale: a caller reads the clock, then waits for the
// lock that guards the window while a later reading is counted. A reading
// older than the newest bucket written counts in that newest bucket, as if
// it had been taken then: it is never dropped, and it never clears a
// bucket that holds a later slice of time, which would erase what the
// later calls counted.
//
// A Window is not safe for concurrent use: its owner guards it with a
// lock. Init allocates the ring; nothing else allocates.
package window

import (
	"fmt"
	"time"
)

// Slots is the number of counts a bucket holds.
const Slots = 3

// Counts are the counts of one bucket, or of a window: what each slot
// counts is the caller's choice.
type Counts [Slots]int64

// Window is a ring of buckets; see the package documentation. The zero
// Window has no buckets: call Init before any other method.
type Window struct {
	width      int64 // ns a bucket spans, >= 1
	newest     int64 // the index of the newest bucket written, if written
	newestSlot int   // and its place in the ring
	written    bool
	buckets    []bucket
}

type bucket struct {
	index  int64 // the slice of time it holds; unwritten buckets hold zero counts
	counts Counts
}

// Init makes w an empty window of n buckets of width each. It panics if
// width < 1ns or n < 1: the policies check their options before.
func (w *Window) Init(width time.Duration, n int) {
	if width < 1 || n < 1 {
		panic(fmt.Sprintf("bulwark/internal/window: Init: need width >= 1ns and n >= 1, got %v and %d", width, n))
	}
	w.width = int64(width)
	w.buckets = make([]bucket, n)
	w.Reset()
}

// Ready reports whether Init was called.
func (w *Window) Ready() bool { return w.buckets != nil }

// Reset empties the window.
func (w *Window) Reset() {
	clear(w.buckets)
	w.newest, w.newestSlot, w.written = 0, 0, false
}

// Locate returns the index of the bucket a reading at time at counts in,
// and how far into that bucket at lies: the bucket that holds at, or, for a
// stale reading (older than the newest bucket written), the newest bucket
// and 0.
func (w *Window) Locate(at int64) (i, into int64) {
	// One division: a remainder is a second one, where a product is not.
	i = at / w.width
	into = at - i*w.width
	if into < 0 { // Go's division rounds towards zero
		i, into = i-1, into+w.width
	}
	if w.written && i < w.newest {
		return w.newest, 0
	}
	return i, into
}

// Add returns the counts of the bucket a reading at time at counts in
// (see Locate), for the caller to add to.
func (w *Window) Add(at int64) *Counts {
	i, _ := w.Locate(at)
	return w.Bucket(i)
}

// Bucket returns the counts of bucket i, for the caller to add to, and
// makes it the newest; if its slot held an earlier slice of time, it is
// cleared first. An i older than the newest bucket (one that did not come
// from Locate) is taken as the newest, as Locate would have taken it.
func (w *Window) Bucket(i int64) *Counts {
	if w.written && i <= w.newest { // the common case, kept small enough to inline
		return &w.buckets[w.newestSlot].counts
	}
	return w.advance(i)
}

// advance makes bucket i, later than the newest, the newest. It runs once
// a bucket's width at most, and is kept out of line so that Bucket inlines.
//
//go:noinline
func (w *Window) advance(i int64) *Counts {
	s := w.slot(i)
	b := &w.buckets[s]
	if b.index != i {
		*b = bucket{index: i}
	}
	w.newest, w.newestSlot, w.written = i, s, true
	return &b.counts
}

// Get returns the counts of bucket i, or nil if the ring holds another
// slice of time in its slot (a bucket never written holds zero counts).
// It changes nothing.
func (w *Window) Get(i int64) *Counts {
	b := &w.buckets[w.slot(i)]
	if b.index != i {
		return nil
	}
	return &b.counts
}

// Newest returns the counts of the newest bucket written, or nil if none
// was written since Init or Reset.
func (w *Window) Newest() *Counts {
	if !w.written {
		return nil
	}
	return &w.buckets[w.newestSlot].counts
}

// Sum returns the counts of the window that ends with bucket i: of the
// buckets from i−n+1 to i that the ring holds.
func (w *Window) Sum(i int64) Counts {
	var s Counts
	n := uint64(len(w.buckets))
	for k := range w.buckets {
		b := &w.buckets[k]
		// i − index as unsigned is exact for index <= i, and cannot
		// overflow as the signed difference can.
		if b.index <= i && uint64(i)-uint64(b.index) < n {
			s[0] += b.counts[0]
			s[1] += b.counts[1]
			s[2] += b.counts[2]
		}
	}
	return s
}

// slot returns the place of bucket i in the ring, for negative i too.
func (w *Window) slot(i int64) int {
	n := int64(len(w.buckets))
	s := i % n
	if s < 0 {
		s += n
	}
	return int(s)
}
