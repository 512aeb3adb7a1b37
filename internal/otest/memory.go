package otest

import (
	"runtime"
	"time"
)

// HeapPerInstance builds n values with build, keeps them all alive, and
// returns the live heap they add, in bytes per value.
func HeapPerInstance[T any](n int, build func() *T) float64 {
	keep := make([]*T, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range keep {
		keep[i] = build()
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(keep)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
}

// Collected builds a value with build, lets use run on it, drops it and
// reports whether the garbage collector reclaimed it: nothing (a meter
// callback, a timer, a goroutine) kept it alive.
func Collected[T any](build func() *T, use func(*T)) bool {
	done := make(chan struct{})
	func() {
		p := build()
		if use != nil {
			use(p)
		}
		runtime.AddCleanup(p, func(ch chan struct{}) { close(ch) }, done)
	}()
	// Cleanups run on a goroutine of the runtime after the cycle that
	// found the value unreachable; a few cycles and yields let it run.
	for range 20 {
		runtime.GC()
		select {
		case <-done:
			return true
		case <-time.After(10 * time.Millisecond):
		}
	}
	return false
}
