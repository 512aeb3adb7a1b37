package benchmarks

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
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
// The reference, timer-reset-stop, arms a bare timer around the call and
// stops it: what a hedge must do at the least.
func BenchmarkHedgeNotFiring(b *testing.B) {
	for _, p := range hedgers {
		b.Run(p.name, func(b *testing.B) { bench(b, p.make(time.Second), nop, false) })
	}
	b.Run("timer-reset-stop", func(b *testing.B) { bench(b, timerResetStop(time.Second, func() {}), nop, false) })
}

func BenchmarkHedgeNotFiringParallel(b *testing.B) {
	for _, p := range hedgers {
		b.Run(p.name, func(b *testing.B) { benchParallel(b, p.make(time.Second), nop, false) })
	}
	// A timer of its own for each goroutine: one timer shared by all
	// would be stopped by one goroutine while another's call runs.
	b.Run("timer-reset-stop", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			run := timerResetStop(time.Second, func() {})
			for pb.Next() {
				if run(ctx, nop) != nil {
					b.Error("failed")
					return
				}
			}
		})
	})
}

// The timer references arm their timers for real: a call slower than the
// delay sees it fire, a fast one never does.
func TestTimerReferencesArmAndStop(t *testing.T) {
	for name, reference := range map[string]func(time.Duration, func()) runner{
		"timer-reset-stop":        timerResetStop,
		"pooled-timer-reset-stop": pooledTimerResetStop,
	} {
		synctest.Test(t, func(t *testing.T) {
			var fired atomic.Int32
			run := reference(time.Millisecond, func() { fired.Add(1) })
			for range 100 {
				assert.NoError(t, run(context.Background(), nop), name)
			}
			time.Sleep(time.Second)
			synctest.Wait()
			assert.Zero(t, fired.Load(), "%s: stopped before the delay", name)
			done := make(chan struct{})
			run = reference(time.Millisecond, func() { close(done) })
			start := time.Now()
			assert.NoError(t, run(context.Background(), func(context.Context) error { <-done; return nil }), name)
			assert.Equal(t, time.Millisecond, time.Since(start), name)
		})
	}
}
