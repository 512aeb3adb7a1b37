package fallback_test

import (
	"context"
	"testing"

	"github.com/bulwark-go/bulwark/fallback"
	"github.com/bulwark-go/bulwark/internal/testutil"
)

func BenchmarkExecute(b *testing.B) {
	f := fallback.New(func(context.Context, error) error { return nil })
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if f.Execute(ctx, testutil.Nop) != nil {
			b.Fatal()
		}
	}
}

func BenchmarkExecuteFallingBack(b *testing.B) {
	f := fallback.New(func(context.Context, error) error { return nil })
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if f.Execute(ctx, testutil.Fail) != nil {
			b.Fatal()
		}
	}
}

func BenchmarkExecuteParallel(b *testing.B) {
	f := fallback.New(func(context.Context, error) error { return nil })
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if f.Execute(ctx, testutil.Nop) != nil {
				b.Fatal()
			}
		}
	})
}
