package fallback_test

import (
	"context"
	"testing"

	"github.com/bulwark-go/bulwark/fallback"
)

func nop(context.Context) error { return nil }

func BenchmarkExecute(b *testing.B) {
	f := fallback.New(func(context.Context, error) error { return nil })
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if f.Execute(ctx, nop) != nil {
			b.Fatal()
		}
	}
}

func BenchmarkExecuteFallingBack(b *testing.B) {
	f := fallback.New(func(context.Context, error) error { return nil })
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if f.Execute(ctx, func(context.Context) error { return errDep }) != nil {
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
			if f.Execute(ctx, nop) != nil {
				b.Fatal()
			}
		}
	})
}
