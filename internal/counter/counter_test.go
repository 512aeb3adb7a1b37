package counter_test

import (
	"sync"
	"testing"

	"github.com/bulwark-go/bulwark/internal/counter"
	"github.com/stretchr/testify/assert"
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
