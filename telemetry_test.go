package bulwark_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/fallback"
	"github.com/bulwark-go/bulwark/internal/core"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/internal/semconv"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func newMeter() otest.Meter { return otest.NewMeter() }

var eventsMetric = otest.EventsMetric

func tracing() (*tracetest.SpanRecorder, *sdktrace.TracerProvider) { return otest.Tracing() }

func TestReportedEventLandsAsMetricSpanEventAndObserverCall(t *testing.T) {
	m := newMeter()
	sr, tp := tracing()
	var seen []bulwark.Event
	r := core.NewReporter("widget", "w1", m, func(_ context.Context, e bulwark.Event) { seen = append(seen, e) })

	ctx, span := tp.Tracer("test").Start(context.Background(), "call")
	r.Report(ctx, bulwark.Next{}, bulwark.Event{
		Type: bulwark.EventStateChange, From: "closed", To: "open", Reason: "failures", Err: errDep,
	})
	r.Report(ctx, bulwark.Next{}, bulwark.Event{Type: bulwark.EventRetry, Attempt: 2, Delay: 1500 * time.Millisecond})
	span.End()

	got, ok := m.Metric(t, semconv.MetricEvents)
	require.True(t, ok)
	metricdatatest.AssertEqual(t, eventsMetric(
		metricdata.DataPoint[int64]{Attributes: attribute.NewSet(
			semconv.AttrPolicy.String("widget"), semconv.AttrPolicyName.String("w1"),
			semconv.AttrEvent.String("state_change"), semconv.AttrStateFrom.String("closed"), semconv.AttrStateTo.String("open")), Value: 1},
		metricdata.DataPoint[int64]{Attributes: attribute.NewSet(
			semconv.AttrPolicy.String("widget"), semconv.AttrPolicyName.String("w1"),
			semconv.AttrEvent.String("retry")), Value: 1},
	), got, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())

	spans := sr.Ended()
	require.Len(t, spans, 1)
	events := spans[0].Events()
	require.Len(t, events, 2)
	assert.Equal(t, "bulwark.widget.state_change", events[0].Name)
	assert.ElementsMatch(t, []attribute.KeyValue{
		semconv.AttrPolicy.String("widget"), semconv.AttrPolicyName.String("w1"),
		semconv.AttrEvent.String("state_change"), semconv.AttrStateFrom.String("closed"), semconv.AttrStateTo.String("open"),
		semconv.AttrReason.String("failures"), semconv.AttrError.String(errDep.Error()),
	}, events[0].Attributes)
	assert.Equal(t, "bulwark.widget.retry", events[1].Name)
	assert.Contains(t, events[1].Attributes, semconv.AttrAttempt.Int(2))
	assert.Contains(t, events[1].Attributes, semconv.AttrDelay.Float64(1.5))

	require.Len(t, seen, 2)
	assert.Equal(t, bulwark.Event{Type: bulwark.EventStateChange, Policy: "widget", Name: "w1",
		From: "closed", To: "open", Reason: "failures", Err: errDep}, seen[0])
}

func TestSpanEventIsNamedAfterThePolicyWhenTheEventIs(t *testing.T) {
	sr, tp := tracing()
	ctx, span := tp.Tracer("test").Start(context.Background(), "call")
	core.NewReporter("retry", "", newMeter()).Report(ctx, bulwark.Next{}, bulwark.Event{Type: bulwark.EventRetry})
	span.End()
	assert.Equal(t, "bulwark.retry", sr.Ended()[0].Events()[0].Name)
}

func failing(context.Context) error { return errDep }

func TestNearestExplicitMeterProviderCountsEachEventOnce(t *testing.T) {
	own, outer, inner := newMeter(), newMeter(), newMeter()
	recovered := func(context.Context, error) error { return nil }
	withOwn := fallback.New(recovered, fallback.WithMeterProvider(own), fallback.WithName("own"))
	noOwn := fallback.New(recovered, fallback.WithName("none"))

	innerP := bulwark.New(noOwn).With(bulwark.WithName("inner"), bulwark.WithMeterProvider(inner))
	ctx := context.Background()

	require.NoError(t, bulwark.New(withOwn).With(bulwark.WithName("outer"), bulwark.WithMeterProvider(outer)).Execute(ctx, failing))
	require.NoError(t, bulwark.New(noOwn).With(bulwark.WithName("outer"), bulwark.WithMeterProvider(outer)).Execute(ctx, failing))
	require.NoError(t, bulwark.New(innerP).With(bulwark.WithName("outer"), bulwark.WithMeterProvider(outer)).Execute(ctx, failing))

	point := func(pipeline, name string) metricdata.DataPoint[int64] {
		return metricdata.DataPoint[int64]{Attributes: attribute.NewSet(
			semconv.AttrPipeline.String(pipeline), semconv.AttrPolicy.String("fallback"),
			semconv.AttrPolicyName.String(name), semconv.AttrEvent.String("fallback")), Value: 1}
	}
	got, ok := own.Metric(t, semconv.MetricEvents)
	require.True(t, ok)
	metricdatatest.AssertEqual(t, eventsMetric(point("outer", "own")), got, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())

	got, ok = outer.Metric(t, semconv.MetricEvents)
	require.True(t, ok)
	metricdatatest.AssertEqual(t, eventsMetric(point("outer", "none")), got, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())

	got, ok = inner.Metric(t, semconv.MetricEvents)
	require.True(t, ok)
	// The innermost pipeline's provider and name win.
	metricdatatest.AssertEqual(t, eventsMetric(point("inner", "none")), got, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}

func TestObserversRunPolicyFirstThenPipelinesInnermostFirst(t *testing.T) {
	var order []string
	obs := func(who string) bulwark.Observer {
		return func(_ context.Context, e bulwark.Event) { order = append(order, who+":"+e.Pipeline) }
	}
	fb := fallback.New(func(context.Context, error) error { return nil }, fallback.WithObserver(obs("policy")))
	inner := bulwark.New(fb).With(bulwark.WithName("inner"), bulwark.WithObserver(obs("inner")))
	outer := bulwark.New(inner).With(bulwark.WithName("outer"), bulwark.WithObserver(obs("outer1")), bulwark.WithObserver(obs("outer2")))
	require.NoError(t, outer.Execute(context.Background(), failing))
	assert.Equal(t, []string{"policy:inner", "inner:inner", "outer1:inner", "outer2:inner"}, order)
}

func TestUnnamedInnerPipelineReportsTheOuterName(t *testing.T) {
	var got string
	fb := fallback.New(func(context.Context, error) error { return nil })
	p := bulwark.New(bulwark.New(fb)).With(bulwark.WithName("outer"),
		bulwark.WithObserver(func(_ context.Context, e bulwark.Event) { got = e.Pipeline }))
	require.NoError(t, p.Execute(context.Background(), failing))
	assert.Equal(t, "outer", got)
}

func TestCallDurationIsRecordedByOutcome(t *testing.T) {
	m := newMeter()
	p := bulwark.New().With(bulwark.WithName("checkout"), bulwark.WithMeterProvider(m), bulwark.WithCallDuration())
	ctx := context.Background()
	require.NoError(t, p.Execute(ctx, nop))
	require.NoError(t, p.Execute(ctx, nop))
	require.ErrorIs(t, p.Execute(ctx, failing), errDep)

	got, ok := m.Metric(t, semconv.MetricCallDuration)
	require.True(t, ok)
	assert.Equal(t, "s", got.Unit)
	hist, ok := got.Data.(metricdata.Histogram[float64])
	require.True(t, ok)
	counts := map[string]uint64{}
	for _, dp := range hist.DataPoints {
		pipeline, _ := dp.Attributes.Value(semconv.AttrPipeline)
		assert.Equal(t, "checkout", pipeline.AsString())
		outcome, _ := dp.Attributes.Value(semconv.AttrOutcome)
		counts[outcome.AsString()] = dp.Count
	}
	assert.Equal(t, map[string]uint64{"success": 2, "failure": 1}, counts)

	_, ok = newMeter().Metric(t, semconv.MetricCallDuration)
	assert.False(t, ok, "nothing is recorded without the option")
}

func TestSlogObserverLogsEventFields(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	obs := bulwark.SlogObserver(l, slog.LevelWarn)
	obs(context.Background(), bulwark.Event{Type: bulwark.EventStateChange, Policy: "breaker", Name: "db",
		Pipeline: "checkout", From: "closed", To: "open", Err: errDep})
	bulwark.SlogObserver(l, slog.LevelDebug)(context.Background(), bulwark.Event{Type: bulwark.EventRetry, Policy: "retry"})
	assert.Equal(t, `level=WARN msg=bulwark.breaker.state_change bulwark.policy=breaker bulwark.event=state_change `+
		`bulwark.policy.name=db bulwark.pipeline=checkout bulwark.state.from=closed bulwark.state.to=open `+
		`bulwark.error="dependency failed"`, strings.TrimSpace(buf.String()), "debug events are below the handler's level")
}

func TestEventTypeNames(t *testing.T) {
	names := map[bulwark.EventType]string{
		bulwark.EventStateChange: "state_change", bulwark.EventRetry: "retry", bulwark.EventRejected: "rejected",
		bulwark.EventTimeout: "timeout", bulwark.EventFallback: "fallback", bulwark.EventHedge: "hedge",
		bulwark.EventExhausted: "exhausted", bulwark.EventBudgetExceeded: "budget_exceeded",
		bulwark.EventLimitChange: "limit_change",
		0:                        "unknown", 200: "unknown",
	}
	for typ, want := range names {
		assert.Equal(t, want, typ.String())
	}
}

func TestListeningTellsWhetherAnEventWouldReachAnything(t *testing.T) {
	ctx := context.Background()
	assert.False(t, core.NewReporter("k", "", nil).Listening(ctx, bulwark.Next{}), "no SDK, no span, no observer")
	assert.True(t, core.NewReporter("k", "", nil, func(context.Context, bulwark.Event) {}).Listening(ctx, bulwark.Next{}))
	assert.True(t, core.NewReporter("k", "", newMeter()).Listening(ctx, bulwark.Next{}), "an SDK provider")
	_, tp := tracing()
	spanCtx, span := tp.Tracer("test").Start(ctx, "call")
	defer span.End()
	assert.True(t, core.NewReporter("k", "", nil).Listening(spanCtx, bulwark.Next{}), "a recording span")

	var got bool
	probe := stageFunc(func(ctx context.Context, next bulwark.Next) error {
		got = core.NewReporter("k", "", nil).Listening(ctx, next)
		return next.Run(ctx)
	})
	require.NoError(t, bulwark.New(probe).With(bulwark.WithObserver(func(context.Context, bulwark.Event) {})).Execute(ctx, nop))
	assert.True(t, got, "a pipeline's observer")
}

// A span's sampling decides its events: a span sampled out listens to
// nothing, one that records without being sampled gets its events, and
// one that has ended or is only a remote parent's context takes none.
func TestSpanEventsFollowTheSpansSampling(t *testing.T) {
	r := core.NewReporter("k", "", nil)
	ev := bulwark.Event{Type: bulwark.EventRejected, Err: errDep}

	dropped := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	ctx, span := dropped.Tracer("test").Start(context.Background(), "call")
	assert.False(t, r.Listening(ctx, bulwark.Next{}), "a span sampled out")
	span.End()

	sr := tracetest.NewSpanRecorder()
	recordOnly := sdktrace.NewTracerProvider(sdktrace.WithSampler(recordOnlySampler{}), sdktrace.WithSpanProcessor(sr))
	ctx, span = recordOnly.Tracer("test").Start(context.Background(), "call")
	require.False(t, span.SpanContext().IsSampled())
	assert.True(t, r.Listening(ctx, bulwark.Next{}), "a span recorded without being sampled")
	r.Report(ctx, bulwark.Next{}, ev)
	span.End()
	if assert.Len(t, sr.Ended(), 1) {
		assert.Len(t, sr.Ended()[0].Events(), 1)
	}

	sr, tp := tracing()
	ctx, span = tp.Tracer("test").Start(context.Background(), "call")
	span.End()
	r.Report(ctx, bulwark.Next{}, ev)
	assert.Empty(t, sr.Ended()[0].Events(), "an ended span")

	remote := trace.ContextWithRemoteSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}, TraceFlags: trace.FlagsSampled, Remote: true}))
	assert.False(t, r.Listening(remote, bulwark.Next{}), "a remote parent's context records nothing, sampled or not")
	assert.NotPanics(t, func() { r.Report(remote, bulwark.Next{}, ev) }, "a remote parent's context")
}

type recordOnlySampler struct{}

func (recordOnlySampler) ShouldSample(sdktrace.SamplingParameters) sdktrace.SamplingResult {
	return sdktrace.SamplingResult{Decision: sdktrace.RecordOnly}
}
func (recordOnlySampler) Description() string { return "record only" }

// An event with every field set has all its attributes on the span.
func TestSpanEventCarriesEveryField(t *testing.T) {
	sr, tp := tracing()
	ctx, span := tp.Tracer("test").Start(context.Background(), "call")
	r := core.NewReporter("widget", "w1", nil)
	p := bulwark.New(stageFunc(func(ctx context.Context, next bulwark.Next) error {
		r.Report(ctx, next, bulwark.Event{Type: bulwark.EventStateChange, Attempt: 2, Delay: time.Second,
			From: "closed", To: "open", Reason: "failures", Limit: 8, Err: errDep})
		return next.Run(ctx)
	})).With(bulwark.WithName("api"))
	require.NoError(t, p.Execute(ctx, nop))
	span.End()
	events := sr.Ended()[0].Events()
	require.Len(t, events, 1)
	assert.Equal(t, "bulwark.widget.state_change", events[0].Name)
	assert.ElementsMatch(t, []attribute.KeyValue{
		semconv.AttrPipeline.String("api"), semconv.AttrPolicy.String("widget"), semconv.AttrPolicyName.String("w1"),
		semconv.AttrEvent.String("state_change"), semconv.AttrAttempt.Int(2), semconv.AttrDelay.Float64(1),
		semconv.AttrStateFrom.String("closed"), semconv.AttrStateTo.String("open"), semconv.AttrReason.String("failures"),
		semconv.AttrLimit.Int(8), semconv.AttrError.String(errDep.Error()),
	}, events[0].Attributes)
}

var eventTestKind = bulwark.NewEventType("test_kind")

func TestNewEventTypeNamesAnEventOfItsOwn(t *testing.T) {
	assert.Equal(t, "test_kind", eventTestKind.String())
	assert.Equal(t, "retry", bulwark.EventRetry.String())
	assert.Equal(t, "unknown", bulwark.EventType(250).String())
	assert.PanicsWithValue(t, "bulwark: NewEventType: name must not be empty", func() { bulwark.NewEventType("") })
	assert.PanicsWithValue(t, `bulwark: NewEventType: "retry" is already an event type`, func() { bulwark.NewEventType("retry") })
	assert.PanicsWithValue(t, `bulwark: NewEventType: "test_kind" is already an event type`, func() { bulwark.NewEventType("test_kind") })
}

// Next.Report takes a policy written outside bulwark into the pipeline's
// telemetry: the pipeline's provider, its name, a span event, its
// observers.
func TestNextReportReachesThePipelinesTelemetry(t *testing.T) {
	m := newMeter()
	sr, tp := tracing()
	var seen []bulwark.Event
	outside := stageFunc(func(ctx context.Context, next bulwark.Next) error {
		next.Report(ctx, bulwark.Event{Type: eventTestKind, Policy: "quota", Name: "q1", Reason: "spent"})
		return next.Run(ctx)
	})
	p := bulwark.New(outside).With(bulwark.WithName("exports"), bulwark.WithMeterProvider(m),
		bulwark.WithObserver(func(_ context.Context, e bulwark.Event) { seen = append(seen, e) }))
	ctx, span := tp.Tracer("test").Start(context.Background(), "call")
	require.NoError(t, p.Execute(ctx, nop))
	span.End()

	m.AssertEvents(t, metricdata.DataPoint[int64]{Attributes: attribute.NewSet(
		semconv.AttrPipeline.String("exports"), semconv.AttrPolicy.String("quota"), semconv.AttrPolicyName.String("q1"),
		semconv.AttrEvent.String("test_kind")), Value: 1})
	require.Len(t, sr.Ended()[0].Events(), 1)
	assert.Equal(t, "bulwark.quota.test_kind", sr.Ended()[0].Events()[0].Name)
	assert.Equal(t, []bulwark.Event{{Type: eventTestKind, Policy: "quota", Name: "q1", Pipeline: "exports", Reason: "spent"}}, seen)
}

func TestMetersCarryTheInstrumentationVersion(t *testing.T) {
	m := newMeter()
	core.NewReporter("k", "", m).Report(context.Background(), bulwark.Next{}, bulwark.Event{Type: bulwark.EventRetry})
	scope, ok := m.Scope(t, semconv.ScopeName)
	require.True(t, ok)
	assert.Equal(t, bulwark.Version, scope.Version)
}

// Empty attributes are left out of metrics and span events: an unnamed
// policy outside a named pipeline sends neither bulwark.pipeline nor
// bulwark.policy.name.
func TestEmptyAttributesAreLeftOut(t *testing.T) {
	m := newMeter()
	sr, tp := tracing()
	r := core.NewReporter("widget", "", m)
	ctx, span := tp.Tracer("test").Start(context.Background(), "call")
	r.Report(ctx, bulwark.Next{}, bulwark.Event{Type: bulwark.EventRejected})
	span.End()

	got, ok := m.Metric(t, semconv.MetricEvents)
	require.True(t, ok)
	metricdatatest.AssertEqual(t, eventsMetric(metricdata.DataPoint[int64]{Attributes: attribute.NewSet(
		semconv.AttrPolicy.String("widget"), semconv.AttrEvent.String("rejected")), Value: 1},
	), got, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
	require.Len(t, sr.Ended(), 1)
	events := sr.Ended()[0].Events()
	require.Len(t, events, 1)
	assert.Equal(t, []attribute.KeyValue{semconv.AttrPolicy.String("widget"), semconv.AttrEvent.String("rejected")},
		events[0].Attributes)
}

// WithoutSpanEvents keeps the events of a pipeline's policies, nested
// pipelines included, out of the call's span; metrics and observers still
// receive them.
func TestWithoutSpanEventsKeepsEventsOffTheSpan(t *testing.T) {
	m := newMeter()
	sr, tp := tracing()
	var seen int
	inner := bulwark.New(retry.New(retry.WithDelay(0), retry.WithMaxAttempts(2), retry.WithMeterProvider(m)))
	p := bulwark.New(inner).With(bulwark.WithoutSpanEvents(),
		bulwark.WithObserver(func(context.Context, bulwark.Event) { seen++ }))
	ctx, span := tp.Tracer("test").Start(context.Background(), "call")
	require.Error(t, p.Execute(ctx, func(context.Context) error { return errDep }))
	span.End()
	assert.Empty(t, sr.Ended()[0].Events(), "span events")
	assert.Equal(t, 2, seen, "a retry and the exhaustion reach the observer")
	_, ok := m.Metric(t, semconv.MetricEvents)
	assert.True(t, ok, "the events are counted")

	// Without the option the same pipeline adds them to the span.
	ctx, span = tp.Tracer("test").Start(context.Background(), "call")
	require.Error(t, bulwark.New(inner).Execute(ctx, func(context.Context) error { return errDep }))
	span.End()
	assert.Len(t, sr.Ended()[1].Events(), 2)
}

// A span event costs one allocation, the SDK's copy of its attributes,
// and none of bulwark's: fewer than the SDK's own AddEvent with the same
// attributes, whose option and slice of options bulwark makes once.
func TestSpanEventAllocatesNothingOfItsOwn(t *testing.T) {
	if testutil.Race {
		t.Skip("under the race detector, sync.Pool drops a quarter of what it is given")
	}
	tp := sdktrace.NewTracerProvider()
	r := core.NewReporter("widget", "w1", nil)
	ctx, span := tp.Tracer("test").Start(context.Background(), "call")
	defer span.End()
	ev := bulwark.Event{Type: bulwark.EventRejected, Reason: "full", Err: errDep}
	got := testing.AllocsPerRun(100, func() { r.Report(ctx, bulwark.Next{}, ev) })
	bare := testing.AllocsPerRun(100, func() {
		span.AddEvent("bulwark.widget.rejected", trace.WithAttributes(semconv.AttrPolicy.String("widget"),
			semconv.AttrPolicyName.String("w1"), semconv.AttrEvent.String("rejected"),
			semconv.AttrReason.String("full"), semconv.AttrError.String(errDep.Error())))
	})
	assert.Less(t, got, bare)
	assert.Equal(t, 1.0, got, "the SDK's copy of the attributes")
}
