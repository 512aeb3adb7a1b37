// Package counter provides a counter that many goroutines add to without
// sharing a cache line: each add lands in the padded stripe of the
// processor (the runtime's P) it runs on, and a read sums the stripes.
//
// The stripes are sized by GOMAXPROCS when the counter is first used (the
// next power of two, at most 64), so a counter costs 128 bytes a processor
// and 128 more for the header: 384 bytes at GOMAXPROCS 2. Policies are
// built by the thousand (one per host, one per tenant), so a fixed
// 64-stripe array (8 KiB a counter) was rejected. Choosing the stripe from
// a hash of the goroutine's stack address was rejected too: with few
// stripes, two running goroutines often share one (half the time at
// GOMAXPROCS 2, when an add costs twice as much or more), while the
// processor's index never collides, for about a nanosecond more on one
// goroutine.
//
// A stripe has one writer: an add pins its goroutine to its processor
// (runtime.procPin, which also holds off preemption), so no other add runs
// on that processor, and so on that stripe, until it is done. The add is
// therefore a plain load, add and store, not a locked instruction: half the
// cost of an atomic add on amd64 (and an atomic store, an XCHG there, is
// locked too). Reads load each stripe atomically, and the Go memory model
// lets a word-sized read that races with a write see either value, never a
// torn one. Builds with the race detector, which would report that race,
// and 32-bit platforms, where an int64 is two words, add atomically. A
// processor added later (GOMAXPROCS raised past the stripes) has no stripe
// of its own: it adds atomically to a shared count in the header.
package counter

import (
	"runtime"
	"sync/atomic"
	"unsafe"
)

// plainAdds is whether an owned stripe is added to with a plain load and
// store: not under the race detector, and only where an int64 is a word.
const plainAdds = !raceEnabled && unsafe.Sizeof(uintptr(0)) == 8

// lineBytes spans two cache lines: x86 prefetches lines in adjacent pairs,
// and neighbouring processors' stripes are neighbours.
const lineBytes = 128

// Slots is the number of separate counts a Striped holds.
const Slots = 4

// line is one stripe: Slots counts in one padded line, written by their
// processor only and read atomically. Lines are allocated in power-of-two
// runs, which the allocator aligns to their size, so a line never
// straddles another object.
type line struct {
	n [Slots]int64
	_ [lineBytes - 8*Slots]byte
}

// maxStripes bounds the stripes: processors beyond it share stripes.
const maxStripes = 64

// lines is the stripes of one counter with the mask that picks one. It is
// read on every add and written only by processors beyond the stripes, so
// it is padded to a line pair of its own: an object that shared its line
// and was written would make every add miss the cache.
type lines struct {
	mask int // len(l) - 1
	l    []line
	// shared counts the adds of processors that have no stripe, which
	// GOMAXPROCS raised after the first add made.
	shared [Slots]atomic.Int64
	_      [lineBytes - 32 - 8*Slots]byte
}

// Striped is a contention-free group of Slots counters (slot 0 is the one
// Add and Load use). Its zero value is ready to use and reads 0; the stripes
// are allocated at the first add. It must not be copied after first use.
type Striped struct {
	p atomic.Pointer[lines]
}

// Add adds delta to slot 0.
func (c *Striped) Add(delta int64) { c.AddAt(0, delta) }

// AddAt adds delta to slot, which must be in [0, Slots).
func (c *Striped) AddAt(slot int, delta int64) {
	l := c.p.Load()
	if l == nil {
		l = c.init()
	}
	slot &= Slots - 1
	p := procPin()
	switch {
	case p > l.mask:
		l.shared[slot].Add(delta)
	case plainAdds:
		l.l[p].n[slot] += delta // the stripe's only writer, see the package doc
	default:
		atomic.AddInt64(&l.l[p].n[slot], delta)
	}
	procUnpin()
}

// Load returns the sum of slot 0.
func (c *Striped) Load() int64 { return c.LoadAt(0) }

// LoadAt returns the sum of the stripes of slot. Adds that run concurrently
// with it may or may not be counted.
func (c *Striped) LoadAt(slot int) int64 {
	l := c.p.Load()
	if l == nil {
		return 0
	}
	slot &= Slots - 1
	sum := l.shared[slot].Load()
	for i := range l.l {
		sum += atomic.LoadInt64(&l.l[i].n[slot])
	}
	return sum
}

// Bytes returns the memory the stripes hold (0 before the first add).
func (c *Striped) Bytes() int {
	if l := c.p.Load(); l != nil {
		return (len(l.l) + 1) * lineBytes
	}
	return 0
}

func (c *Striped) init() *lines {
	n := stripesFor(runtime.GOMAXPROCS(0))
	l := &lines{mask: n - 1, l: make([]line, n)}
	if c.p.CompareAndSwap(nil, l) {
		return l
	}
	return c.p.Load()
}

// Proc returns the index of the processor (the runtime's P) the goroutine
// runs on, which it may leave at any moment: a hint for picking a stripe,
// as Striped does, for structures whose stripes are shared atomically.
func Proc() int {
	p := procPin()
	procUnpin()
	return p
}

// Stripes returns the number of stripes of a structure striped by Proc
// for the current GOMAXPROCS, as Striped sizes its own: the next power of
// two, at most 64.
func Stripes() int { return stripesFor(runtime.GOMAXPROCS(0)) }

// stripesFor returns the stripes for procs processors: the next power of
// two, within [1, maxStripes].
func stripesFor(procs int) int {
	n := 1
	for n < procs && n < maxStripes {
		n <<= 1
	}
	return n
}

//go:linkname procPin runtime.procPin
func procPin() int

//go:linkname procUnpin runtime.procUnpin
func procUnpin()
