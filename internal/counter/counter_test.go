package counter_test

import (
	"runtime"
	"sync"
	"testing"

	"github.com/bulwark-go/bulwark/internal/counter"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStripedSumsConcurrentAdds(t *testing.T) {
	var c counter.Striped
	assert.Zero(t, c.Load())
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			for range 1000 {
				c.Add(int64(g%3) - 1) // -1, 0, +1
			}
		})
	}
	wg.Wait()
	// 32 goroutines: g%3 is 0 for 11 of them, 1 for 11, 2 for 10.
	assert.Equal(t, int64((10-11)*1000), c.Load())
}

func BenchmarkAtomic(b *testing.B) {
	var n struct{ v int64 }
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			atomicAdd(&n.v)
		}
	})
}

func BenchmarkStriped(b *testing.B) {
	var c counter.Striped
	b.ReportAllocs()
	for b.Loop() {
		c.Add(1)
	}
}

func BenchmarkStripedParallel(b *testing.B) {
	var c counter.Striped
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Add(1)
		}
	})
}

func TestStripedSlotsAreSeparate(t *testing.T) {
	var c counter.Striped
	for slot := range counter.Slots {
		c.AddAt(slot, int64(slot+1)*10)
	}
	c.Add(1)
	assert.Equal(t, int64(11), c.Load())
	for slot := 1; slot < counter.Slots; slot++ {
		assert.Equal(t, int64(slot+1)*10, c.LoadAt(slot))
	}
}

func TestStripedSizedByGOMAXPROCS(t *testing.T) {
	for _, tc := range []struct{ procs, bytes int }{{1, 2 * 128}, {2, 3 * 128}, {3, 5 * 128}, {8, 9 * 128}, {100, 65 * 128}} {
		prev := runtime.GOMAXPROCS(tc.procs)
		var c counter.Striped
		assert.Zero(t, c.Bytes(), "nothing is allocated before the first add")
		c.Add(1)
		runtime.GOMAXPROCS(prev)
		assert.Equal(t, tc.bytes, c.Bytes(), "GOMAXPROCS %d", tc.procs)
		assert.Equal(t, int64(1), c.Load())
	}
}

func TestStripedAddAllocatesOnce(t *testing.T) {
	var c counter.Striped
	c.Add(1)
	assert.Zero(t, testing.AllocsPerRun(100, func() { c.AddAt(2, 1) }))
}

// Stripes sized for one processor stay exact once GOMAXPROCS outgrows
// them: the processors beyond them add atomically to stripes of their own
// kind, never to the owned one.
func TestStripedStaysExactWhenGOMAXPROCSGrows(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var c counter.Striped
	c.Add(1)
	require.Equal(t, 2*128, c.Bytes(), "one stripe and the header")
	runtime.GOMAXPROCS(4)
	const goroutines, adds = 8, 20000
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range adds {
				c.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int64(goroutines*adds+1), c.Load())
}

func TestProcIsWithinGOMAXPROCS(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	assert.Equal(t, 4, counter.Stripes())
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			p := counter.Proc()
			assert.GreaterOrEqual(t, p, 0)
			assert.Less(t, p, 3)
		})
	}
	wg.Wait()
}

// Reads while adds run see a count between those before and after, and the
// final count is exact: every stripe has one writer, whatever the reads do.
func TestStripedReadsDuringAddsAndStaysExact(t *testing.T) {
	var c counter.Striped
	const goroutines, adds = 8, 50000
	stop := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		prev := int64(0)
		for {
			select {
			case <-stop:
				return
			default:
			}
			n := c.LoadAt(3)
			assert.GreaterOrEqual(t, n, prev, "a count only grows")
			assert.LessOrEqual(t, n, int64(goroutines*adds))
			prev = n
			runtime.Gosched()
		}
	}()
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for i := range adds {
				c.AddAt(3, 1)
				if i%1000 == 0 {
					runtime.Gosched() // move between processors
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	<-readerDone
	assert.Equal(t, int64(goroutines*adds), c.LoadAt(3))
}

// A counter whose first add ran at GOMAXPROCS 1, added to by every
// processor: all but the first have no stripe of their own.
func BenchmarkStripedParallelAfterGOMAXPROCSGrew(b *testing.B) {
	procs := runtime.GOMAXPROCS(1)
	var c counter.Striped
	c.Add(1)
	runtime.GOMAXPROCS(procs)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Add(1)
		}
	})
}
