package benchmarks

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
)

var bulkheads = []struct {
	name string
	make func() runner
}{
	{"bulwark", bulwarkBulkhead},
	{"x-sync-semaphore", xsyncSemaphore},
	{"channel", chanSemaphore},
	{"failsafe-go", failsafeBulkhead},
	{"failsafe-go-permit", failsafeBulkheadPermit},
	{"eapache", eapacheSemaphore},
}

// BenchmarkBulkhead: take a permit, run, give it back.
func BenchmarkBulkhead(b *testing.B) {
	for _, p := range bulkheads {
		b.Run(p.name, func(b *testing.B) { bench(b, p.make(), nop, false) })
	}
}

// BenchmarkBulkheadParallel: the same from every core. Its reference,
// bulwark-serial, is bulwark's bulkhead from one goroutine in the same
// run: two cores should run more calls than one.
func BenchmarkBulkheadParallel(b *testing.B) {
	for _, p := range bulkheads {
		b.Run(p.name, func(b *testing.B) { benchParallel(b, p.make(), nop, false) })
	}
	b.Run("bulwark-serial", func(b *testing.B) { bench(b, bulwarkBulkhead(), nop, false) })
}

func TestBulkheadHarnessesRun(t *testing.T) {
	for _, p := range bulkheads {
		run := p.make()
		calls := 0
		for range 10 {
			assert.NoError(t, run(context.Background(), func(context.Context) error { calls++; return nil }), p.name)
		}
		assert.Equal(t, 10, calls, p.name)
	}
}
