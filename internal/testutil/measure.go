package testutil

import "runtime"

// BytesPerRun returns the bytes f allocates per run over n runs, rounded
// down, so that the odd allocation of the runtime meanwhile does not count.
// It runs on one processor and runs f once first, so that what f sets up
// lazily is not counted.
func BytesPerRun(n int, f func()) uint64 {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	f()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / uint64(n)
}

// Settle collects garbage until the cleanups a collection queues (the
// unregistering of a dropped policy's meter callback, say) have run and
// what they released is collected too, so that a measure of the live heap
// that follows does not see a previous test's garbage freed meanwhile.
func Settle() {
	for range 3 {
		done := make(chan struct{})
		runtime.AddCleanup(new([16]byte), func(c chan struct{}) { close(c) }, done)
		runtime.GC()
		<-done
	}
	runtime.GC()
}
