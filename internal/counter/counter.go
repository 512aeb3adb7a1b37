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
// and 32-bit platforms, where an int64 is two words, add atomically.
//
// A processor with no stripe of its own never writes the header, which
// every add reads: its adds would make every processor's miss the cache.
// Where GOMAXPROCS exceeds 64 at the first add (a server with more cores),
// processors share stripes, two or more a stripe, and every add of that
// counter is atomic. A processor added later (GOMAXPROCS raised past the
// stripes) adds atomically to stripes of its own kind, allocated by the
// first such add and shared only by such processors.
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
// read on every add and written by none (over is set once), so it is
// padded to a line pair of its own: an object that shared its line and
// was written would make every add miss the cache.
type lines struct {
	mask int // len(l) - 1
	l    []line
	// owned is whether each processor had a stripe of its own at the
	// first add, which its owner then adds to with plain stores. Else
	// processors share stripes and every add is atomic.
	owned bool
	// over holds, for an owned counter, the stripes of processors that
	// have none, which GOMAXPROCS raised after the first add made; nil
	// until one of them adds. They are shared and added to atomically.
	over atomic.Pointer[lines]
	_    [lineBytes - 48]byte
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
	if l.owned && p <= l.mask {
		l.l[p].n[slot] += delta // the stripe's only writer, see the package doc
		procUnpin()
		return
	}
	procUnpin()
	if l.owned {
		l = l.overflow() // a processor beyond the stripes
	}
	atomic.AddInt64(&l.l[p&l.mask].n[slot], delta)
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
	var sum int64
	for ; l != nil; l = l.over.Load() {
		for i := range l.l {
			sum += atomic.LoadInt64(&l.l[i].n[slot])
		}
	}
	return sum
}

// Bytes returns the memory the stripes hold (0 before the first add).
func (c *Striped) Bytes() int {
	n := 0
	for l := c.p.Load(); l != nil; l = l.over.Load() {
		n += (len(l.l) + 1) * lineBytes
	}
	return n
}

func (c *Striped) init() *lines {
	procs := runtime.GOMAXPROCS(0)
	l := newLines(procs, plainAdds && procs <= maxStripes)
	if c.p.CompareAndSwap(nil, l) {
		return l
	}
	return c.p.Load()
}

// newLines returns the stripes for procs processors.
func newLines(procs int, owned bool) *lines {
	n := stripesFor(procs)
	return &lines{mask: n - 1, l: make([]line, n), owned: owned}
}

// overflow returns the stripes of the processors beyond l's, allocating
// them at the first call.
func (l *lines) overflow() *lines {
	if o := l.over.Load(); o != nil {
		return o
	}
	o := newLines(runtime.GOMAXPROCS(0), false)
	if l.over.CompareAndSwap(nil, o) {
		return o
	}
	return l.over.Load()
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
