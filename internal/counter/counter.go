// Package counter provides a counter that many goroutines add to without
// sharing a cache line: each add lands in one of 64 padded stripes chosen
// from the calling goroutine's stack address, so goroutines running on
// different cores rarely touch the same line, and a read sums the stripes.
//
// Choosing the stripe by processor (the runtime's procPin, reached by
// linkname) never collides, but costs twice as much per add and cannot be
// inlined; on the hot paths this counter serves, the rare shared stripe is
// the cheaper trade.
package counter

import (
	"sync/atomic"
	"unsafe"
)

// lineBytes spans two cache lines: x86 prefetches lines in adjacent pairs.
const lineBytes = 128

// stripe is one cache line holding one count.
type stripe struct {
	n atomic.Int64
	_ [lineBytes - 8]byte
}

// stripes is the number of stripes: processors beyond it share stripes.
const stripes = 64

// Striped is a contention-free counter of about 8 KiB. Its zero value is
// ready to use and reads 0; it must not be copied after first use. It pads
// itself on both sides, so that the fields of a struct it is embedded in do
// not share a line with a stripe.
type Striped struct {
	_       [lineBytes]byte
	stripes [stripes]stripe
}

// Add adds delta.
func (c *Striped) Add(delta int64) {
	c.stripes[index()].n.Add(delta)
}

// Load returns the sum of the stripes. Adds that run concurrently with Load
// may or may not be counted.
func (c *Striped) Load() int64 {
	var sum int64
	for i := range c.stripes {
		sum += c.stripes[i].n.Load()
	}
	return sum
}

// index picks a stripe from the address of a variable on the calling
// goroutine's stack. Goroutines that run at the same time have distinct
// stacks, at least 2 KiB apart; a multiplicative hash spreads the stack
// numbers over the stripes, so two running goroutines share a stripe with
// a probability of 1/64. A goroutine whose stack moves (it grew) simply
// adds to another stripe: the sum is unaffected.
func index() uintptr {
	var marker byte
	stack := uint64(uintptr(unsafe.Pointer(&marker))) >> 11
	return uintptr((stack * 0x9E3779B97F4A7C15) >> (64 - 6)) // the top 6 bits: 0 to 63
}
