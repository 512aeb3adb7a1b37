package timeout_test

import (
	"context"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/bulwark-go/bulwark/timeout"
)

// BenchmarkWithDeadline is what the Timeout's success path is made of.
func BenchmarkWithDeadline(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c, cancel := context.WithDeadline(ctx, time.Now().Add(time.Second))
		_ = testutil.Nop(c)
		cancel()
	}
}

func BenchmarkExecute(b *testing.B) {
	t := timeout.New(time.Second)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if t.Execute(ctx, testutil.Nop) != nil {
			b.Fatal()
		}
	}
}

func BenchmarkExecuteParallel(b *testing.B) {
	t := timeout.New(time.Second)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if t.Execute(ctx, testutil.Nop) != nil {
				b.Fatal()
			}
		}
	})
}

func BenchmarkExecuteCallerDeadlineFirst(b *testing.B) {
	t := timeout.New(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		if t.Execute(ctx, testutil.Nop) != nil {
			b.Fatal()
		}
	}
}

func BenchmarkExecuteAbandon(b *testing.B) {
	t := timeout.New(time.Second, timeout.WithAbandon())
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if t.Execute(ctx, testutil.Nop) != nil {
			b.Fatal()
		}
	}
}

// BenchmarkExecuteTimedOut: the Timeout's own deadline fires, with nothing
// listening for its event.
func BenchmarkExecuteTimedOut(b *testing.B) {
	t := timeout.New(time.Nanosecond)
	ctx := context.Background()
	wait := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	b.ReportAllocs()
	for b.Loop() {
		if t.Execute(ctx, wait) != timeout.ErrTimeout {
			b.Fatal()
		}
	}
}
