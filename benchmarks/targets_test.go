package benchmarks

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/fallback"
	"github.com/bulwark-go/bulwark/hedge"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// The rows in this file judge bulwark against a reference measured in the
// same run: a direct call through the same function value, bulwark's own
// cheapest path, or the bare OpenTelemetry call that an event makes. Each
// Benchmark has the reference first and bulwark's rows after it.

// failTwice fails twice, then succeeds, and again: the call of the retry
// rows. Each row gets its own.
type failTwice struct{ n int }

func (f *failTwice) call(context.Context) error {
	f.n++
	if f.n%3 != 0 {
		return errDep
	}
	return nil
}

// BenchmarkTargetRetryTwoFailures: a retry that fails twice, then succeeds,
// with no wait, against the three bare calls it makes (target: ≤ 3×), on
// its own and as the stage of a pipeline.
func BenchmarkTargetRetryTwoFailures(b *testing.B) {
	// The reference makes the same three calls through the same function
	// value, reached through a runner as every row is.
	b.Run("three-direct-calls", func(b *testing.B) {
		bench(b, func(ctx context.Context, fn func(context.Context) error) error {
			_ = fn(ctx)
			_ = fn(ctx)
			return fn(ctx)
		}, (&failTwice{}).call, false)
	})
	// A second reference: the least a retry does, a loop of three
	// attempts that stops when the call succeeds or its context is done,
	// without events, counts, backoff, budget or deadline.
	b.Run("minimal-loop", func(b *testing.B) {
		bench(b, minimalRetry, (&failTwice{}).call, false)
	})
	b.Run("bulwark", func(b *testing.B) {
		bench(b, retry.New(retry.WithDelay(0)).Execute, (&failTwice{}).call, false)
	})
	b.Run("bulwark-pipeline", func(b *testing.B) {
		bench(b, bulwark.New(retry.New(retry.WithDelay(0))).Execute, (&failTwice{}).call, false)
	})
}

// minimalRetry is the minimal-loop reference of the retry rows.
func minimalRetry(ctx context.Context, fn func(context.Context) error) error {
	var err error
	for range 3 {
		if err = fn(ctx); err == nil || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// BenchmarkTargetRetrySuccess: a retry whose first attempt succeeds against
// a closed breaker's success path (target: ≤ 1.2×).
func BenchmarkTargetRetrySuccess(b *testing.B) {
	b.Run("breaker-closed", func(b *testing.B) { bench(b, breaker.New().Execute, nop, false) })
	b.Run("bulwark", func(b *testing.B) { bench(b, retry.New(retry.WithDelay(0)).Execute, nop, false) })
}

// BenchmarkTargetPermit: the two-step permit (AcquireInto, then Done with
// the outcome) against the same breaker's Execute (target: 0 allocs, ≤
// 1.3×).
func BenchmarkTargetPermit(b *testing.B) {
	b.Run("breaker-execute", func(b *testing.B) { bench(b, breaker.New().Execute, nop, false) })
	b.Run("bulwark-acquire-into", func(b *testing.B) { bench(b, acquireInto(breaker.New()), nop, false) })
}

// acquireInto runs fn under a permit of br, taken on the caller's stack.
func acquireInto(br *breaker.Breaker) runner {
	return func(ctx context.Context, fn func(context.Context) error) error {
		var p breaker.Permit
		if err := br.AcquireInto(ctx, &p); err != nil {
			return err
		}
		err := fn(ctx)
		p.Done(ctx, err)
		return err
	}
}

// BenchmarkTargetBulkhead: a bulkhead from every processor at once
// against the same from one goroutine (target: parallel ≤ serial).
func BenchmarkTargetBulkhead(b *testing.B) {
	b.Run("bulwark-serial", func(b *testing.B) { bench(b, bulwarkBulkhead(), nop, false) })
	b.Run("bulwark-parallel", func(b *testing.B) { benchParallel(b, bulwarkBulkhead(), nop, false) })
}

// BenchmarkTargetPipelineLayers: the cost of a pipeline of n pass-through
// stages against a direct call (target: per layer ≤ 1.5× a direct call,
// growing linearly), serial and from every processor at once (target:
// parallel ≤ 0.6× serial on 2 processors).
func BenchmarkTargetPipelineLayers(b *testing.B) {
	b.Run("direct", func(b *testing.B) { bench(b, direct, nop, false) })
	for _, n := range []int{1, 5, 10, 20} {
		b.Run("bulwark-layers="+strconv.Itoa(n), func(b *testing.B) { bench(b, bulwarkPipeline(n), nop, false) })
	}
	for _, n := range []int{1, 5, 10} {
		b.Run("bulwark-layers="+strconv.Itoa(n)+"-parallel", func(b *testing.B) {
			benchParallel(b, bulwarkPipeline(n), nop, false)
		})
	}
}

// BenchmarkTargetSingleStage: a pipeline of one built-in stage against the
// stage's own Execute (target: ≤ Execute + one direct call).
func BenchmarkTargetSingleStage(b *testing.B) {
	f := fallback.New(recovered)
	b.Run("execute", func(b *testing.B) { bench(b, f.Execute, nop, false) })
	b.Run("bulwark-pipeline", func(b *testing.B) { bench(b, bulwark.New(f).Execute, nop, false) })
}

// BenchmarkTargetHedge: a hedge whose call answers long before the delay,
// against the timer work such a hedge cannot avoid (target: ≤ 1.5×, and
// ≤ 1 allocation of ≤ 64 bytes): one Reset and one Stop of a timer that is
// reused, around the same call through the same function value. The
// target's reference is one timer; pooled-timer-reset-stop takes its timer
// from a sync.Pool and puts it back, as a hedge that overlapping calls
// share must, which tells how much of the rest the pool is.
func BenchmarkTargetHedge(b *testing.B) {
	b.Run("timer-reset-stop", func(b *testing.B) { bench(b, timerResetStop(time.Second, func() {}), nop, false) })
	b.Run("pooled-timer-reset-stop", func(b *testing.B) { bench(b, pooledTimerResetStop(time.Second, func() {}), nop, false) })
	b.Run("bulwark", func(b *testing.B) { bench(b, hedge.New(hedge.WithDelay(time.Second)).Execute, nop, false) })
}

// pooledTimerResetStop is timerResetStop with timers taken from a pool:
// a timer that fired is not put back, since its callback may still run.
func pooledTimerResetStop(d time.Duration, fired func()) runner {
	var pool sync.Pool
	return func(ctx context.Context, fn func(context.Context) error) error {
		t, _ := pool.Get().(*time.Timer)
		if t == nil {
			t = time.AfterFunc(time.Hour, fired)
			t.Stop()
		}
		t.Reset(d)
		err := fn(ctx)
		if t.Stop() {
			pool.Put(t)
		}
		return err
	}
}

// eventAttrs are the attributes bulwark sends with a fallback's event in
// an unnamed pipeline, for the bare rows.
var eventAttrs = []attribute.KeyValue{
	attribute.String("bulwark.policy", "fallback"),
	attribute.String("bulwark.event", "fallback"),
}

// BenchmarkTargetTelemetry: a fallback's event with the OpenTelemetry SDK
// installed, against the bare SDK call that records the same thing
// (target: ≤ 1.3× each). The metric rows count fallbacks in an SDK
// counter; the span rows add the event to a recording span (the span's own
// start and end are in every row, and in the span-only row); the
// span-events rows add eventsPerSpan events to each span, so that the
// event is nearly all of each operation and the ratio needs no
// subtraction. The bulwark rows include the fallback's own work (its
// metric-fallback-without-sdk row).
func BenchmarkTargetTelemetry(b *testing.B) {
	ctx := context.Background()
	b.Run("metric-bare-add", func(b *testing.B) {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		c, _ := mp.Meter("bench").Int64Counter("bulwark.events")
		opts := []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(eventAttrs...))}
		b.ReportAllocs()
		for b.Loop() {
			c.Add(ctx, 1, opts...)
		}
	})
	b.Run("metric-bulwark", func(b *testing.B) {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		f := fallback.New(recovered, fallback.WithMeterProvider(mp))
		bench(b, f.Execute, failing, false)
	})
	b.Run("metric-fallback-without-sdk", func(b *testing.B) { bench(b, fallback.New(recovered).Execute, failing, false) })

	tp := sdktrace.NewTracerProvider() // records spans, keeps none
	tracer := tp.Tracer("bench")
	b.Run("span-only", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, span := tracer.Start(ctx, "call")
			span.End()
		}
	})
	// The bare call gets the attributes that name the policy prebuilt, and
	// makes the one that tells the error for each event, as bulwark must.
	b.Run("span-bare-addevent", func(b *testing.B) {
		attrs := append(append([]attribute.KeyValue(nil), eventAttrs...), attribute.KeyValue{})
		b.ReportAllocs()
		for b.Loop() {
			_, span := tracer.Start(ctx, "call")
			attrs[len(eventAttrs)] = attribute.String("bulwark.error", errDep.Error())
			span.AddEvent("bulwark.fallback", trace.WithAttributes(attrs...))
			span.End()
		}
	})
	b.Run("span-bulwark", func(b *testing.B) {
		f := fallback.New(recovered)
		b.ReportAllocs()
		for b.Loop() {
			ctx, span := tracer.Start(ctx, "call")
			if f.Execute(ctx, failing) != nil {
				b.Fatal("the fallback did not recover")
			}
			span.End()
		}
	})
	b.Run("span-events-bare-addevent", func(b *testing.B) {
		b.ReportAllocs()
		eventsOnSpans(b.Loop, tracer, bareSpanEvent())
	})
	b.Run("span-events-bulwark", func(b *testing.B) {
		b.ReportAllocs()
		eventsOnSpans(b.Loop, tracer, bulwarkSpanEvent(b))
	})
}

// eventsPerSpan is the number of events the span-events rows add to each
// span: a span's start and end cost a few percent of each event then.
const eventsPerSpan = 100

// eventsOnSpans calls event while loop returns true, with a recording span
// that it ends and starts again every eventsPerSpan calls.
func eventsOnSpans(loop func() bool, tracer trace.Tracer, event func(ctx context.Context, span trace.Span)) {
	ctx, span := tracer.Start(context.Background(), "call")
	for i := 1; loop(); i++ {
		event(ctx, span)
		if i%eventsPerSpan == 0 {
			span.End()
			ctx, span = tracer.Start(context.Background(), "call")
		}
	}
	span.End()
}

// bareSpanEvent adds the fallback's event to the span with the SDK alone:
// the attributes that name the policy prebuilt, the one that tells the
// error made for each event, as bulwark must.
func bareSpanEvent() func(context.Context, trace.Span) {
	attrs := append(append([]attribute.KeyValue(nil), eventAttrs...), attribute.KeyValue{})
	return func(_ context.Context, span trace.Span) {
		attrs[len(eventAttrs)] = attribute.String("bulwark.error", errDep.Error())
		span.AddEvent("bulwark.fallback", trace.WithAttributes(attrs...))
	}
}

// bulwarkSpanEvent has a fallback recover from a failure in the span's
// context, which adds its event to the span.
func bulwarkSpanEvent(tb testing.TB) func(context.Context, trace.Span) {
	f := fallback.New(recovered)
	return func(ctx context.Context, _ trace.Span) {
		if f.Execute(ctx, failing) != nil {
			tb.Fatal("the fallback did not recover")
		}
	}
}

// TestSpanEventRowsRecordTheSameEvents checks that the span-events rows
// of BenchmarkTargetTelemetry record what they claim: eventsPerSpan events
// on each span, named and attributed alike in the bare row and bulwark's.
func TestSpanEventRowsRecordTheSameEvents(t *testing.T) {
	want := append(append([]attribute.KeyValue(nil), eventAttrs...), attribute.String("bulwark.error", errDep.Error()))
	for name, event := range map[string]func(context.Context, trace.Span){
		"bare":    bareSpanEvent(),
		"bulwark": bulwarkSpanEvent(t),
	} {
		var perSpan []int
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(endProcessor(func(s sdktrace.ReadOnlySpan) {
			perSpan = append(perSpan, len(s.Events()))
			for _, e := range s.Events() {
				assert.Equal(t, "bulwark.fallback", e.Name, name)
				assert.ElementsMatch(t, want, e.Attributes, name)
			}
		})))
		n := 0
		eventsOnSpans(func() bool { n++; return n <= 2*eventsPerSpan+eventsPerSpan/2 }, tp.Tracer("t"), event)
		assert.Equal(t, []int{eventsPerSpan, eventsPerSpan, eventsPerSpan / 2}, perSpan, name)
	}
}

// TestTelemetryRowsRecordWhatTheyClaim checks that the bulwark rows of
// BenchmarkTargetTelemetry record the event they are judged on: a span
// event named and attributed as the bare row's.
func TestTelemetryRowsRecordWhatTheyClaim(t *testing.T) {
	var got []sdktrace.Event
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(endProcessor(func(s sdktrace.ReadOnlySpan) { got = s.Events() })))
	ctx, span := tp.Tracer("t").Start(context.Background(), "call")
	assert.NoError(t, fallback.New(recovered).Execute(ctx, failing))
	span.End()
	if assert.Len(t, got, 1) {
		assert.Equal(t, "bulwark.fallback", got[0].Name)
		want := append(append([]attribute.KeyValue(nil), eventAttrs...), attribute.String("bulwark.error", errDep.Error()))
		assert.ElementsMatch(t, want, got[0].Attributes)
	}
}

type endProcessor func(sdktrace.ReadOnlySpan)

func (endProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (p endProcessor) OnEnd(s sdktrace.ReadOnlySpan)                 { p(s) }
func (endProcessor) Shutdown(context.Context) error                  { return nil }
func (endProcessor) ForceFlush(context.Context) error                { return nil }

// TestPermitRowMakesItsCallAndRecordsIt checks that the permit row calls
// the function once per run and that Done records its outcome.
func TestPermitRowMakesItsCallAndRecordsIt(t *testing.T) {
	br := breaker.New(breaker.WithConsecutiveFailures(2))
	run, calls := acquireInto(br), 0
	for range 3 {
		assert.NoError(t, run(context.Background(), func(context.Context) error { calls++; return nil }))
	}
	assert.Equal(t, 3, calls)
	for range 2 {
		assert.ErrorIs(t, run(context.Background(), failing), errDep)
	}
	assert.ErrorIs(t, run(context.Background(), nop), breaker.ErrOpen, "two failures through Done opened it")
}

// TestRetryRowsMakeThreeCalls checks that every row of
// BenchmarkTargetRetryTwoFailures makes the three calls it is judged on,
// and succeeds with the third.
func TestRetryRowsMakeThreeCalls(t *testing.T) {
	for name, run := range map[string]runner{
		"minimal-loop":     minimalRetry,
		"bulwark":          retry.New(retry.WithDelay(0)).Execute,
		"bulwark-pipeline": bulwark.New(retry.New(retry.WithDelay(0))).Execute,
	} {
		f := &failTwice{}
		for range 4 {
			assert.NoError(t, run(context.Background(), f.call), name)
		}
		assert.Equal(t, 12, f.n, name)
	}
}
