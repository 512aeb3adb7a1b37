// Package benchmarks compares bulwark with peer libraries in one process,
// so that ratios hold on a shared, noisy machine. Each peer has a file of
// its own; each scenario runs every peer side by side with b.Run.
package benchmarks

import (
	"context"
	"errors"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// eapache's breaker sleeps on a goroutine of its own for the whole open
	// duration each time it opens; that is the peer's design, not a leak of
	// the harness.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/eapache/go-resiliency/breaker.(*Breaker).timer"))
}

var errDep = errors.New("dependency failed")

// nop is the protected call of the success paths.
func nop(context.Context) error { return nil }

// failing is the protected call of the failure paths.
func failing(context.Context) error { return errDep }

// runner is one peer's way of protecting a call, built once per benchmark.
type runner func(ctx context.Context, fn func(context.Context) error) error

func bench(b *testing.B, run runner, fn func(context.Context) error, wantErr bool) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := run(ctx, fn); (err != nil) != wantErr {
			b.Fatalf("unexpected outcome: %v", err)
		}
	}
}

func benchParallel(b *testing.B, run runner, fn func(context.Context) error, wantErr bool) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if err := run(ctx, fn); (err != nil) != wantErr {
				b.Errorf("unexpected outcome: %v", err)
				return
			}
		}
	})
}
