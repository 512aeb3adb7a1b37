package bulwark_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/fallback"
	"github.com/bulwark-go/bulwark/internal/core"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/internal/semconv"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

func fallbacks(n int) []bulwark.Policy {
	ps := make([]bulwark.Policy, n)
	for i := range ps {
		ps[i] = fallback.New(func(context.Context, error) error { return nil })
	}
	return ps
}

// plainPolicy implements only bulwark.Policy, as a policy from outside
// bulwark may.
type plainPolicy struct{}

func (plainPolicy) Execute(ctx context.Context, fn func(context.Context) error) error { return fn(ctx) }

func BenchmarkDirect(b *testing.B) {
	ctx := context.Background()
	fn := nop
	b.ReportAllocs()
	for b.Loop() {
		if fn(ctx) != nil {
			b.Fatal()
		}
	}
}

func BenchmarkPipeline(b *testing.B) {
	for _, n := range []int{1, 2, 5, 10} {
		p := bulwark.New(fallbacks(n)...)
		b.Run(fmt.Sprintf("fallbacks=%d", n), func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if p.Execute(ctx, nop) != nil {
					b.Fatal()
				}
			}
		})
	}
}

func BenchmarkPipelineParallel(b *testing.B) {
	p := bulwark.New(fallbacks(5)...)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if p.Execute(ctx, nop) != nil {
				b.Fatal()
			}
		}
	})
}

func BenchmarkPipelinePlainPolicy(b *testing.B) {
	for _, tc := range []struct {
		name string
		p    *bulwark.Pipeline
	}{
		{"innermost", bulwark.New(append(fallbacks(4), plainPolicy{})...)},
		{"outermost", bulwark.New(append([]bulwark.Policy{plainPolicy{}}, fallbacks(4)...)...)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if tc.p.Execute(ctx, nop) != nil {
					b.Fatal()
				}
			}
		})
	}
}

var errBench = errors.New("bench")

func BenchmarkEventSite(b *testing.B) {
	r := core.NewReporter("bench", "", nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		r.Report(ctx, bulwark.Next{}, bulwark.Event{Type: bulwark.EventRejected, Err: errBench})
	}
}

func BenchmarkGet(b *testing.B) {
	p := bulwark.New(fallbacks(5)...)
	ctx := context.Background()
	load := func(context.Context) (int, error) { return 1, nil }
	b.ReportAllocs()
	for b.Loop() {
		if v, err := bulwark.Get(ctx, p, load); err != nil || v != 1 {
			b.Fatal(err)
		}
	}
}

// BenchmarkExecuteCapturing is Execute with a result captured by the
// caller's closure, the allocation-free alternative to Get.
func BenchmarkExecuteCapturing(b *testing.B) {
	p := bulwark.New(fallbacks(5)...)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		var v int
		if err := p.Execute(ctx, func(context.Context) error { v = 1; return nil }); err != nil || v != 1 {
			b.Fatal(err)
		}
	}
}

// BenchmarkEventSiteGated is an event site as the hot failure paths write
// it: the event is built only when something listens.
func BenchmarkEventSiteGated(b *testing.B) {
	r := core.NewReporter("bench", "", nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if r.Listening(ctx, bulwark.Next{}) {
			r.Report(ctx, bulwark.Next{}, bulwark.Event{Type: bulwark.EventRejected, Err: errBench})
		}
	}
}

// BenchmarkEventWithSDK is one event reported with the OpenTelemetry SDK
// installed, beside what the SDK alone costs for the same record: a
// counter Add with a precomputed attribute set, and a span event with the
// same attributes.
func BenchmarkEventWithSDK(b *testing.B) {
	ctx := context.Background()
	ev := bulwark.Event{Type: bulwark.EventRejected, Err: errBench}
	b.Run("metric/bulwark", func(b *testing.B) {
		m := otest.NewMeter()
		r := core.NewReporter("bench", "api", m)
		b.ReportAllocs()
		for b.Loop() {
			r.Report(ctx, bulwark.Next{}, ev)
		}
	})
	b.Run("metric/bare-add", func(b *testing.B) {
		m := otest.NewMeter()
		c, _ := m.Meter("bench").Int64Counter(semconv.MetricEvents)
		opt := metric.WithAttributeSet(attribute.NewSet(semconv.AttrPolicy.String("bench"),
			semconv.AttrPolicyName.String("api"), semconv.AttrEvent.String("rejected")))
		b.ReportAllocs()
		for b.Loop() {
			c.Add(ctx, 1, opt)
		}
	})
	// A provider that records spans and keeps none, so that no figure
	// includes a growing store.
	tp := sdktrace.NewTracerProvider()
	b.Run("span/bulwark", func(b *testing.B) {
		r := core.NewReporter("bench", "api", nil)
		b.ReportAllocs()
		for b.Loop() {
			ctx, span := tp.Tracer("bench").Start(ctx, "call")
			r.Report(ctx, bulwark.Next{}, ev)
			span.End()
		}
	})
	b.Run("span/bare-addevent", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, span := tp.Tracer("bench").Start(ctx, "call")
			span.AddEvent("bulwark.bench.rejected", trace.WithAttributes(semconv.AttrPolicy.String("bench"),
				semconv.AttrPolicyName.String("api"), semconv.AttrEvent.String("rejected"),
				semconv.AttrError.String(errBench.Error())))
			span.End()
		}
	})
	b.Run("span/bare-span", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, span := tp.Tracer("bench").Start(ctx, "call")
			span.End()
		}
	})
}
