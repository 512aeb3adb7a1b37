package chaos_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/chaos"
	"github.com/bulwark-go/bulwark/fallback"
	"github.com/bulwark-go/bulwark/internal/testutil"
)

// faulty is a Chaos configured with every kind of fault, as one under test
// would be, and left disabled.
func faulty() *chaos.Chaos {
	return chaos.New(
		chaos.WithError(0.3, errors.New("injected")),
		chaos.WithLatency(0.1, time.Second, 100*time.Millisecond),
		chaos.WithPanic(0.01),
	)
}

// BenchmarkDisabled measures a disabled Chaos against a pass-through
// stage (a fallback on the success path), in the same run, alone and as
// a stage of a pipeline.
func BenchmarkDisabled(b *testing.B) {
	ctx := context.Background()
	for _, c := range []struct {
		name string
		p    bulwark.Policy
	}{
		{"fallback", fallback.New(func(context.Context, error) error { return nil })},
		{"chaos", faulty()},
		{"pipeline/fallback", bulwark.New(fallback.New(func(context.Context, error) error { return nil }))},
		{"pipeline/chaos", bulwark.New(faulty())},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if c.p.Execute(ctx, testutil.Nop) != nil {
					b.Fatal()
				}
			}
		})
	}
}

func BenchmarkDisabledParallel(b *testing.B) {
	for _, c := range []struct {
		name string
		p    bulwark.Policy
	}{
		{"fallback", fallback.New(func(context.Context, error) error { return nil })},
		{"chaos", faulty()},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					if c.p.Execute(ctx, testutil.Nop) != nil {
						b.Error("unexpected error")
						return
					}
				}
			})
		})
	}
}

type ctxKey int

// BenchmarkDisabledAfterEnable measures a disabled Chaos once Enable has
// been called in the process, when every call looks for Enable's mark in
// its context: under context.Background and under a context four values
// deep. It must run after BenchmarkDisabled, which it follows in the file.
func BenchmarkDisabledAfterEnable(b *testing.B) {
	_ = chaos.Enable(context.Background())
	deep := context.Background()
	for i := range 4 {
		deep = context.WithValue(deep, ctxKey(i), i)
	}
	f := fallback.New(func(context.Context, error) error { return nil })
	c := faulty()
	for _, ctx := range []struct {
		name string
		ctx  context.Context
	}{{"background", context.Background()}, {"4-values", deep}} {
		for _, p := range []struct {
			name string
			p    bulwark.Policy
		}{{"fallback", f}, {"chaos", c}} {
			b.Run(ctx.name+"/"+p.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if p.p.Execute(ctx.ctx, testutil.Nop) != nil {
						b.Fatal()
					}
				}
			})
		}
	}
}

// BenchmarkInjecting: enabled, with every call given an error, seeded
// (a mutex around the draws) or not. It calls Enable, so it follows the
// benchmarks of the disabled path in the file.
func BenchmarkInjecting(b *testing.B) {
	ctx := chaos.Enable(context.Background())
	for name, c := range map[string]*chaos.Chaos{
		"unseeded": chaos.New(chaos.WithError(1, errInjected)),
		"seeded":   chaos.New(chaos.WithError(1, errInjected), chaos.WithSeed(1)),
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = c.Execute(ctx, testutil.Nop)
			}
		})
		b.Run(name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					_ = c.Execute(ctx, testutil.Nop)
				}
			})
		})
	}
}
