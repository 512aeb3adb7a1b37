// Package counter provides a counter that many goroutines add to without
// sharing a cache line: each add lands in one of a few padded stripes
// chosen from the calling goroutine's stack address, so goroutines running
// on different cores rarely touch the same line, and a read sums the
// stripes.
//
// The stripes are sized by GOMAXPROCS when the counter is first used (the
// next power of two, at most 64), so a counter costs 128 bytes a processor:
// 256 bytes at GOMAXPROCS 2. Policies are built by the thousand (one per
// host, one per tenant), so a fixed 64-stripe array (8 KiB a counter) was
// rejected.
//
// Choosing the stripe by processor (the runtime's procPin, reached by
// linkname) never collides, but costs twice as much per add and cannot be
// inlined; on the hot paths this counter serves, the rare shared stripe is
// the cheaper trade.
package counter

import (
	"math/bits"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// lineBytes spans two cache lines: x86 prefetches lines in adjacent pairs.
const lineBytes = 128

// Slots is the number of separate counts a Striped holds.
const Slots = 4

// line is one stripe: Slots counts in one padded line. Lines are allocated
// in power-of-two runs, which the allocator aligns to their size, so a line
// never straddles another object.
type line struct {
	n [Slots]atomic.Int64
	_ [lineBytes - 8*Slots]byte
}

// maxStripes bounds the stripes: processors beyond it share stripes.
const maxStripes = 64

// lines is the stripes of one counter with the shift that picks one.
type lines struct {
	shift uint // 64 - log2(len(l))
	l     []line
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
	l.l[index(l.shift)].n[slot&(Slots-1)].Add(delta)
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
	var sum int64
	for i := range l.l {
		sum += l.l[i].n[slot&(Slots-1)].Load()
	}
	return sum
}

// Bytes returns the memory the stripes hold (0 before the first add).
func (c *Striped) Bytes() int {
	if l := c.p.Load(); l != nil {
		return len(l.l) * lineBytes
	}
	return 0
}

func (c *Striped) init() *lines {
	n := stripesFor(runtime.GOMAXPROCS(0))
	l := &lines{shift: uint(64 - bits.TrailingZeros(uint(n))), l: make([]line, n)}
	if c.p.CompareAndSwap(nil, l) {
		return l
	}
	return c.p.Load()
}

// stripesFor returns the stripes for procs processors: the next power of
// two, within [1, maxStripes].
func stripesFor(procs int) int {
	n := 1
	for n < procs && n < maxStripes {
		n <<= 1
	}
	return n
}

// index picks a stripe from the address of a variable on the calling
// goroutine's stack. Goroutines that run at the same time have distinct
// stacks, at least 2 KiB apart; a multiplicative hash spreads the stack
// numbers over the stripes. A goroutine whose stack moves (it grew) simply
// adds to another stripe: the sum is unaffected. A shift of 64 (one
// stripe) yields 0.
func index(shift uint) uintptr {
	var marker byte
	stack := uint64(uintptr(unsafe.Pointer(&marker))) >> 11
	return uintptr((stack * 0x9E3779B97F4A7C15) >> shift)
}
