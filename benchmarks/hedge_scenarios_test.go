package benchmarks

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

var hedgers = []struct {
	name string
	make func(time.Duration) runner
}{
	{"bulwark", bulwarkHedge},
	{"failsafe-go", failsafeHedge},
}

// BenchmarkHedgeNotFiring: the answer comes long before the hedge delay.
func BenchmarkHedgeNotFiring(b *testing.B) {
	for _, p := range hedgers {
		b.Run(p.name, func(b *testing.B) { bench(b, p.make(time.Second), nop, false) })
	}
}

func BenchmarkHedgeNotFiringParallel(b *testing.B) {
	for _, p := range hedgers {
		b.Run(p.name, func(b *testing.B) { benchParallel(b, p.make(time.Second), nop, false) })
	}
}

func TestHedgeHarnessesHedge(t *testing.T) {
	for _, p := range hedgers {
		var calls atomic.Int32
		err := p.make(time.Millisecond)(context.Background(), func(ctx context.Context) error {
			if calls.Add(1) == 1 {
				<-ctx.Done() // the slow primary, cancelled by the winner
				return ctx.Err()
			}
			return nil
		})
		assert.NoError(t, err, p.name)
		assert.Equal(t, int32(2), calls.Load(), p.name)
	}
}
