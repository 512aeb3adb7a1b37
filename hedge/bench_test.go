package hedge_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/budget"
	"github.com/bulwark-go/bulwark/hedge"
	"github.com/bulwark-go/bulwark/internal/testutil"
)

// BenchmarkTimerResetStop is the reference of BenchmarkNotFiring: a bare
// timer armed and stopped around the same call.
func BenchmarkTimerResetStop(b *testing.B) {
	t := time.AfterFunc(time.Hour, func() {})
	defer t.Stop()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		t.Reset(time.Second)
		err := testutil.Nop(ctx)
		t.Stop()
		if err != nil {
			b.Fatal()
		}
	}
}

// BenchmarkNotFiring: the answer comes before the delay.
func BenchmarkNotFiring(b *testing.B) {
	h := hedge.New(hedge.WithDelay(time.Second))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if h.Execute(ctx, testutil.Nop) != nil {
			b.Fatal()
		}
	}
}

func BenchmarkNotFiringParallel(b *testing.B) {
	h := hedge.New(hedge.WithDelay(time.Second))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if h.Execute(ctx, testutil.Nop) != nil {
				b.Error("failed")
				return
			}
		}
	})
}

// BenchmarkNotFiringWatchingContext: the call selects on its context, which
// makes the attempt's cancellable context.
func BenchmarkNotFiringWatchingContext(b *testing.B) {
	h := hedge.New(hedge.WithDelay(time.Second))
	ctx := context.Background()
	watch := func(ctx context.Context) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		default:
			return nil
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if h.Execute(ctx, watch) != nil {
			b.Fatal()
		}
	}
}

func BenchmarkNotFiringLatencyQuantile(b *testing.B) {
	h := hedge.New(hedge.WithLatencyQuantile(0.95, 128, time.Second))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if h.Execute(ctx, testutil.Nop) != nil {
			b.Fatal()
		}
	}
}

func BenchmarkNotFiringWithBudget(b *testing.B) {
	h := hedge.New(hedge.WithDelay(time.Second), hedge.WithBudget(budget.NewToken(10, 0.1)))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if h.Execute(ctx, testutil.Nop) != nil {
			b.Fatal()
		}
	}
}

// BenchmarkFailureLaunchesAHedge: the primary fails at once, which launches
// the hedge at once, and the hedge wins.
func BenchmarkFailureLaunchesAHedge(b *testing.B) {
	h := hedge.New(hedge.WithDelay(time.Second))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		var n atomic.Int32
		err := h.Execute(ctx, func(context.Context) error {
			if n.Add(1) == 1 {
				return testutil.ErrDep
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
