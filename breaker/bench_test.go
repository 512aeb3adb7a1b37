package breaker_test

import (
	"context"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/breaker"
)

func nop(context.Context) error { return nil }

func BenchmarkClosedSuccess(b *testing.B) {
	br := breaker.New()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if br.Execute(ctx, nop) != nil {
			b.Fatal()
		}
	}
}

func BenchmarkClosedSuccessParallel(b *testing.B) {
	br := breaker.New()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if br.Execute(ctx, nop) != nil {
				b.Error("rejected")
				return
			}
		}
	})
}

func BenchmarkOpenRejection(b *testing.B) {
	br := breaker.New(breaker.WithOpenDuration(time.Hour))
	br.Isolate()
	br.Reset()
	ctx := context.Background()
	for range 5 {
		_ = br.Execute(ctx, func(context.Context) error { return errDep })
	}
	if br.State() != breaker.Open {
		b.Fatal("not open")
	}
	b.ReportAllocs()
	for b.Loop() {
		if br.Execute(ctx, nop) == nil {
			b.Fatal()
		}
	}
}

func BenchmarkCountWindowSuccess(b *testing.B) {
	br := breaker.New(breaker.WithFailureRatio(0.5), breaker.WithCountWindow(100))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if br.Execute(ctx, nop) != nil {
			b.Fatal()
		}
	}
}

func BenchmarkAcquireDone(b *testing.B) {
	br := breaker.New()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		p, err := br.Acquire(ctx)
		if err != nil {
			b.Fatal(err)
		}
		p.Done(ctx, nil)
	}
}

// BenchmarkAcquireIntoDone is the two-step form of BenchmarkClosedSuccess,
// its reference, with a Permit on the caller's stack.
func BenchmarkAcquireIntoDone(b *testing.B) {
	br := breaker.New()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		var p breaker.Permit
		if err := br.AcquireInto(ctx, &p); err != nil {
			b.Fatal(err)
		}
		p.Done(ctx, nop(ctx))
	}
}

func BenchmarkAcquireIntoDoneParallel(b *testing.B) {
	br := breaker.New()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		var p breaker.Permit
		for pb.Next() {
			if err := br.AcquireInto(ctx, &p); err != nil {
				b.Error(err)
				return
			}
			p.Done(ctx, nop(ctx))
		}
	})
}
