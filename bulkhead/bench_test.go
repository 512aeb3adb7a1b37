package bulkhead_test

import (
	"context"
	"testing"

	"github.com/bulwark-go/bulwark/bulkhead"
)

func BenchmarkAcquireRelease(b *testing.B) {
	bh := bulkhead.New(1 << 20)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if bh.Execute(ctx, nop) != nil {
			b.Fatal()
		}
	}
}

func BenchmarkAcquireReleaseParallel(b *testing.B) {
	bh := bulkhead.New(1 << 20)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if bh.Execute(ctx, nop) != nil {
				b.Error("full")
				return
			}
		}
	})
}

func BenchmarkAdaptive(b *testing.B) {
	a := bulkhead.NewAdaptive(bulkhead.Vegas(), bulkhead.WithLimits(1000, 1000), bulkhead.WithInitialLimit(1000))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if a.Execute(ctx, nop) != nil {
			b.Fatal()
		}
	}
}
