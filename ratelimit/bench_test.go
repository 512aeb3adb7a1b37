package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/ratelimit"
	"golang.org/x/time/rate"
)

// The limits are high enough that every call is allowed: the Allow path.

func BenchmarkRawRateAllow(b *testing.B) {
	l := rate.NewLimiter(1e12, 1<<30)
	b.ReportAllocs()
	for b.Loop() {
		if !l.Allow() {
			b.Fatal()
		}
	}
}

func BenchmarkAllow(b *testing.B) {
	l := ratelimit.New(1e12, 1<<30)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if l.Execute(ctx, nop) != nil {
			b.Fatal()
		}
	}
}

func BenchmarkAllowParallel(b *testing.B) {
	l := ratelimit.New(1e12, 1<<30)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if l.Execute(ctx, nop) != nil {
				b.Error("limited")
				return
			}
		}
	})
}

func BenchmarkKeyedExistingKey(b *testing.B) {
	k := ratelimit.NewKeyed(1e12, 1<<30, tenant)
	ctx := as("tenant-42")
	b.ReportAllocs()
	for b.Loop() {
		if k.Execute(ctx, nop) != nil {
			b.Fatal()
		}
	}
}

func BenchmarkSlidingWindow(b *testing.B) {
	s := ratelimit.NewSlidingWindow(1<<62, time.Hour)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if s.Execute(ctx, nop) != nil {
			b.Fatal()
		}
	}
}

// A rejection, with its hint: the limit is low enough that every call
// after the first is rejected.
func BenchmarkRejected(b *testing.B) {
	l := ratelimit.New(1e-3, 1)
	ctx := context.Background()
	_ = l.Execute(ctx, nop)
	b.ReportAllocs()
	for b.Loop() {
		if l.Execute(ctx, nop) == nil {
			b.Fatal()
		}
	}
}
