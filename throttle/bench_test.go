package throttle_test

import (
	"context"
	"testing"

	"github.com/bulwark-go/bulwark/throttle"
)

func BenchmarkThrottler(b *testing.B) {
	th := throttle.New()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if th.Execute(ctx, nop) != nil {
			b.Fatal()
		}
	}
}

func BenchmarkThrottlerParallel(b *testing.B) {
	th := throttle.New()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if th.Execute(ctx, nop) != nil {
				b.Error("throttled")
				return
			}
		}
	})
}
