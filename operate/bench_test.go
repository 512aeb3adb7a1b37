package operate_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/bulwark-go/bulwark/operate"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func nop(ctx context.Context) error { return testutil.Nop(ctx) }

// subjects are the policies whose success path registering must leave as
// it was, each built afresh.
var subjects = []struct {
	name  string
	build func() bulwark.Policy
}{
	{"breaker", func() bulwark.Policy { return breaker.New() }},
	{"ratelimit", func() bulwark.Policy { return ratelimit.New(1e9, 1e9) }},
	{"pipeline", func() bulwark.Policy {
		return bulwark.New(retry.New(), breaker.New(), bulkhead.New(64)).With(bulwark.WithName("checkout"))
	}},
	{"pipeline+duration", func() bulwark.Policy {
		return bulwark.New(retry.New(), breaker.New(), bulkhead.New(64)).
			With(bulwark.WithName("checkout"), bulwark.WithCallDuration())
	}},
	// A timeout's success path allocates its context: registered, the same.
	{"timeout", func() bulwark.Policy { return timeout.New(time.Second) }},
}

func registered(t testing.TB, p bulwark.Policy) *operate.Registry {
	r := operate.NewRegistry()
	require.NoError(t, r.Register("subject", p, operate.Critical()))
	return r
}

func TestRegisteringLeavesTheSuccessPathFree(t *testing.T) {
	ctx := context.Background()
	for _, s := range subjects {
		bare := s.build()
		want := testing.AllocsPerRun(1000, func() { _ = bare.Execute(ctx, nop) })
		if s.name != "timeout" {
			assert.Zero(t, want, s.name)
		}
		p := s.build()
		r := registered(t, p)
		h := operate.Handler(r)
		getStatus(t, h) // a reader has sampled it
		assert.Equal(t, want, testing.AllocsPerRun(1000, func() { _ = p.Execute(ctx, nop) }), s.name)
		getStatus(t, h)
		runtime.KeepAlive(r)
	}
}

// variants are the ways a policy is run in the benchmarks: bare; in a
// registry nobody reads; in a registry that is read (a dashboard open on
// it), which times the calls of a pipeline built with WithCallDuration.
var variants = []string{"unregistered", "registered", "watched"}

// prepare builds the subject for a variant, and returns what must stay
// alive while it runs.
func prepare(b *testing.B, build func() bulwark.Policy, variant string) (bulwark.Policy, *operate.Registry) {
	p := build()
	if variant == "unregistered" {
		return p, nil
	}
	r := registered(b, p)
	if variant == "watched" {
		getStatus(b, operate.Handler(r))
	}
	return p, r
}

// BenchmarkSuccessPath measures each policy's success path bare,
// registered and watched, in the same run: the ratios are the dashboard's
// cost to a call.
func BenchmarkSuccessPath(b *testing.B) {
	for _, s := range subjects {
		for _, v := range variants {
			b.Run(s.name+"/"+v, func(b *testing.B) {
				p, r := prepare(b, s.build, v)
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					if p.Execute(ctx, nop) != nil {
						b.Fatal()
					}
				}
				runtime.KeepAlive(r)
			})
		}
	}
}

func BenchmarkSuccessPathParallel(b *testing.B) {
	for _, s := range subjects {
		for _, v := range variants {
			b.Run(s.name+"/"+v, func(b *testing.B) {
				p, r := prepare(b, s.build, v)
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					ctx := context.Background()
					for pb.Next() {
						if p.Execute(ctx, nop) != nil {
							b.Error("failed")
							return
						}
					}
				})
				runtime.KeepAlive(r)
			})
		}
	}
}

// BenchmarkOpenRejection measures what a registered breaker's observer
// adds to a rejection, the one path where the breaker reports an event
// per call: it is told of the rejection and drops it.
func BenchmarkOpenRejection(b *testing.B) {
	for _, reg := range []bool{false, true} {
		name := "unregistered"
		if reg {
			name = "registered"
		}
		b.Run(name, func(b *testing.B) {
			br := breaker.New(breaker.WithOpenDuration(time.Hour))
			var r *operate.Registry
			if reg {
				r = registered(b, br)
			}
			for range 5 {
				_ = br.Execute(context.Background(), testutil.Fail)
			}
			require.Equal(b, breaker.Open, br.State())
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				_ = br.Execute(ctx, nop)
			}
			runtime.KeepAlive(r)
		})
	}
}
