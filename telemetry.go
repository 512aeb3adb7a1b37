package bulwark

import (
	"context"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark/internal/semconv"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// reporter delivers one policy's events to OpenTelemetry and to observers.
// Every bulwark policy has one, built through internal/telemetry; a policy
// written outside bulwark reports with Next.Report, which uses a reporter
// without a provider or observers of its own.
//
// An event is counted once in bulwark.events, through the nearest meter
// provider given explicitly (the policy's own, else the innermost pipeline's
// that has one, else the global provider); it is added as a span event to
// the recording span in the call's context; and it is passed to the
// policy's observers, then to the observers of each pipeline around the
// policy, innermost first. Nothing is called with a lock held.
//
// A reporter is small (about 300 bytes): what it caches per event type (the
// span event's name, the metric's attribute set) is built the first time an
// event of that type is delivered, since policies are built by the
// thousand and most report few kinds of event, or none.
type reporter struct {
	kind, name string
	observers  []Observer
	explicit   bool
	meter      metric.Meter
	events     metric.Int64Counter
	spanNames  [numEventTypes]atomic.Pointer[string]
	plain      [numEventTypes]atomic.Pointer[[]metric.AddOption] // outside named pipelines, no states
	sets       sync.Map                                          // metricKey -> []metric.AddOption
	taps       atomic.Pointer[[]*tap]                            // observers added after construction (hooks.go)
}

type metricKey struct {
	pipeline, from, to string
	t                  EventType
}

// newReporter returns the reporter of a policy of the given kind ("breaker")
// and instance name ("" for none). A nil mp means the global MeterProvider,
// so nothing is recorded until the application installs an SDK. It panics if
// kind is empty or an observer is nil.
func newReporter(kind, name string, mp metric.MeterProvider, observers ...Observer) *reporter {
	if kind == "" {
		panic("bulwark: reporter: kind must not be empty")
	}
	for i, o := range observers {
		if o == nil {
			panic("bulwark: reporter: observer " + strconv.Itoa(i) + " is nil")
		}
	}
	r := &reporter{kind: kind, name: name, observers: observers, explicit: mp != nil}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	r.meter = meter(mp)
	r.events = eventCounter(mp)
	return r
}

// Meter returns the meter of the policy's provider (the global one if it
// was given none), for the policy's observable instruments.
func (r *reporter) Meter() metric.Meter { return r.meter }

// Attributes returns the attributes that identify the policy: its kind and
// instance name, left out when empty.
func (r *reporter) Attributes() []attribute.KeyValue {
	if r.name == "" {
		return []attribute.KeyValue{semconv.AttrPolicy.String(r.kind)}
	}
	return []attribute.KeyValue{semconv.AttrPolicy.String(r.kind), semconv.AttrPolicyName.String(r.name)}
}

// Kind returns the policy kind the reporter was built with.
func (r *reporter) Kind() string { return r.kind }

// Name returns the policy instance name the reporter was built with.
func (r *reporter) Name() string { return r.name }

// Listening reports whether an event reported now would reach anything: an
// SDK behind the metric, a recording span in ctx (or a sampled one, see
// recording), or an observer. A policy on a hot failure path asks it
// before building an event; Report asks it again, so calling Report alone
// is always correct.
func (r *reporter) Listening(ctx context.Context, next Next) bool {
	s := next.scopeOf()
	if len(r.observers) > 0 || r.taps.Load() != nil || (s != nil && len(s.observers) > 0) {
		return true
	}
	counter := r.events
	if s != nil && !r.explicit && s.events != nil {
		counter = s.events
	}
	return counter.Enabled(ctx) || ((s == nil || !s.noSpans) && recording(trace.SpanFromContext(ctx)))
}

// noSpan and contextOnly are the types of the spans of a context without
// one and of a context that holds a span context alone (a remote
// parent's, from a propagator): neither ever records.
var (
	noSpan      = reflect.TypeOf(trace.SpanFromContext(context.Background()))
	contextOnly = reflect.TypeOf(trace.SpanFromContext(trace.ContextWithRemoteSpanContext(context.Background(), trace.SpanContext{})))
)

// recording reports whether span may record an event. A sampled span is
// taken for a recording one without asking, since asking takes a recording
// span's lock, and AddEvent takes it again; one that has ended ignores the
// event. A context that only carries a sampled remote parent, as a service
// that propagates traces without recording them has, listens to nothing.
func recording(span trace.Span) bool {
	if t := reflect.TypeOf(span); t == noSpan || t == contextOnly {
		return false
	}
	return span.SpanContext().IsSampled() || span.IsRecording()
}

// Report delivers e, after filling in its Policy, Name and Pipeline
// fields. next is the Next the reporting stage was given (its zero value
// outside a pipeline). Report keeps no reference to e. When nothing listens
// (no SDK installed, no recording span, no observer) it returns after three
// checks and does not touch e.
func (r *reporter) Report(ctx context.Context, next Next, ev Event) {
	e := &ev
	counter := r.events
	s := next.scopeOf()
	if s != nil && !r.explicit && s.events != nil {
		counter = s.events
	}
	counted := counter.Enabled(ctx)
	var span trace.Span
	traced := false
	if s == nil || !s.noSpans {
		span = trace.SpanFromContext(ctx)
		traced = recording(span)
	}
	taps := r.taps.Load()
	if !counted && !traced && len(r.observers) == 0 && taps == nil && (s == nil || len(s.observers) == 0) {
		return // nothing listens: the common case without an SDK
	}
	e.Policy, e.Name = r.kind, r.name
	if s != nil {
		e.Pipeline = s.name
	}
	if counted {
		counter.Add(ctx, 1, r.options(e)...)
	}
	if traced {
		se := spanEvents.Get().(*spanEvent)
		kv := appendSpanAttributes(se.kv[:0], e)
		if cap(kv) == len(se.kv) {
			span.AddEvent(r.spanName(e.Type), se.opts[len(kv)][:]...)
		} else { // more attributes than the buffer holds
			span.AddEvent(r.spanName(e.Type), trace.WithAttributes(kv...))
		}
		clear(se.kv[:min(len(kv), len(se.kv))]) // drop the error strings it refers to
		spanEvents.Put(se)
	}
	for _, o := range r.observers {
		o(ctx, *e)
	}
	if s != nil {
		for _, o := range s.observers {
			o(ctx, *e)
		}
	}
	if taps != nil {
		for _, t := range *taps {
			t.o(ctx, *e)
		}
	}
}

func (r *reporter) spanName(t EventType) string {
	if t == 0 || t >= numEventTypes {
		return spanEventName(r.kind, t)
	}
	if p := r.spanNames[t].Load(); p != nil {
		return *p
	}
	n := spanEventName(r.kind, t)
	r.spanNames[t].Store(&n)
	return n
}

// options returns the metric options for e, built once per distinct
// attribute set and cached: the set is bounded by the pipelines and states
// a policy meets.
func (r *reporter) options(e *Event) []metric.AddOption {
	if e.Pipeline == "" && e.From == "" && e.To == "" && e.Type < numEventTypes && e.Type > 0 {
		if p := r.plain[e.Type].Load(); p != nil {
			return *p
		}
		opts := r.buildOptions(metricKey{t: e.Type})
		r.plain[e.Type].Store(&opts)
		return opts
	}
	k := metricKey{pipeline: e.Pipeline, from: e.From, to: e.To, t: e.Type}
	if v, ok := r.sets.Load(k); ok {
		return v.([]metric.AddOption)
	}
	v, _ := r.sets.LoadOrStore(k, r.buildOptions(k))
	return v.([]metric.AddOption)
}

// buildOptions returns the metric options of k. Empty attributes are left
// out (Prometheus reads a missing label as an empty one), since the SDK
// hashes every attribute of every Add.
func (r *reporter) buildOptions(k metricKey) []metric.AddOption {
	kv := make([]attribute.KeyValue, 0, 6)
	if k.pipeline != "" {
		kv = append(kv, semconv.AttrPipeline.String(k.pipeline))
	}
	kv = append(kv, semconv.AttrPolicy.String(r.kind))
	if r.name != "" {
		kv = append(kv, semconv.AttrPolicyName.String(r.name))
	}
	kv = append(kv, semconv.AttrEvent.String(k.t.String()))
	if k.from != "" || k.to != "" {
		kv = append(kv, semconv.AttrStateFrom.String(k.from), semconv.AttrStateTo.String(k.to))
	}
	return []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(kv...))}
}

// spanEvent is a buffer a span event's attributes are built in, with room
// for every field of an Event, and for each count of attributes the
// options that add that many of the buffer's first ones, made once: a
// span.AddEvent(name, trace.WithAttributes(kv...)) allocates the option and
// the slice of options, which cost more than the rest of bulwark's work
// for the event. Every trace.EventOption is applied through
// trace.NewEventConfig, which copies the attributes, so nothing keeps the
// buffer, the options or their slice once AddEvent returns.
type spanEvent struct {
	kv   [11]attribute.KeyValue
	opts [12][1]trace.EventOption // opts[n] adds kv[:n]
}

var spanEvents = sync.Pool{New: func() any {
	se := new(spanEvent)
	for n := range se.opts {
		se.opts[n][0] = trace.WithAttributes(se.kv[:n:n]...)
	}
	return se
}}

// appendSpanAttributes appends e's span event attributes to kv, empty ones
// left out.
func appendSpanAttributes(kv []attribute.KeyValue, e *Event) []attribute.KeyValue {
	if e.Pipeline != "" {
		kv = append(kv, semconv.AttrPipeline.String(e.Pipeline))
	}
	kv = append(kv, semconv.AttrPolicy.String(e.Policy))
	if e.Name != "" {
		kv = append(kv, semconv.AttrPolicyName.String(e.Name))
	}
	kv = append(kv, semconv.AttrEvent.String(e.Type.String()))
	if e.Attempt > 0 {
		kv = append(kv, semconv.AttrAttempt.Int(e.Attempt))
	}
	if e.Delay > 0 {
		kv = append(kv, semconv.AttrDelay.Float64(e.Delay.Seconds()))
	}
	if e.From != "" || e.To != "" {
		kv = append(kv, semconv.AttrStateFrom.String(e.From), semconv.AttrStateTo.String(e.To))
	}
	if e.Reason != "" {
		kv = append(kv, semconv.AttrReason.String(e.Reason))
	}
	if e.Limit > 0 {
		kv = append(kv, semconv.AttrLimit.Int(e.Limit))
	}
	if e.Err != nil {
		kv = append(kv, semconv.AttrError.String(e.Err.Error()))
	}
	return kv
}

func eventCounter(mp metric.MeterProvider) metric.Int64Counter {
	// The API returns a usable no-op instrument alongside any error, and
	// the only errors are name validation, which these constant names pass.
	c, _ := meter(mp).Int64Counter(semconv.MetricEvents,
		metric.WithDescription("Events reported by bulwark policies."),
		metric.WithUnit("{event}"))
	return c
}

// callDuration is the stage a pipeline built with WithCallDuration runs
// first: it times everything after it, to the protected function.
type callDuration struct {
	hist metric.Float64Histogram
	opts [len(outcomeNames)][]metric.RecordOption
	taps atomic.Pointer[[]*durationTap] // added after construction (hooks.go)
}

func newCallDuration(mp metric.MeterProvider, pipeline string) *callDuration {
	h, _ := meter(mp).Float64Histogram(semconv.MetricCallDuration,
		metric.WithDescription("Duration of calls through a bulwark pipeline."),
		metric.WithUnit("s"))
	d := &callDuration{hist: h}
	for o := range d.opts {
		d.opts[o] = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(
			semconv.AttrPipeline.String(pipeline), semconv.AttrOutcome.String(outcomeNames[o])))}
	}
	return d
}

func (d *callDuration) Execute(ctx context.Context, fn func(context.Context) error) error {
	return RunStage(ctx, d, fn)
}

func (d *callDuration) ExecuteStage(ctx context.Context, next Next) error {
	start := time.Now()
	err := next.Run(ctx)
	took := time.Since(start)
	d.hist.Record(ctx, took.Seconds(), d.opts[classify(ctx, err)]...)
	if taps := d.taps.Load(); taps != nil {
		for _, t := range *taps {
			t.f(start, took)
		}
	}
	return err
}

// meter returns bulwark's meter of mp, with the instrumentation version.
func meter(mp metric.MeterProvider) metric.Meter {
	return mp.Meter(semconv.ScopeName, metric.WithInstrumentationVersion(Version))
}

// Report delivers e as an event of the stage that was handed n, the way
// bulwark's own policies report theirs: it is counted in bulwark.events
// (through the innermost pipeline's meter provider, else the global one),
// added as a span event (bulwark.<policy>.<event>) to the recording span in
// ctx, and passed to the observers of the pipelines around the stage,
// innermost first, with Pipeline filled in. e.Policy is the stage's kind
// ("quota"; "unknown" if empty) and e.Name its instance name; both become
// metric attributes, so they must come from a small set, never from a key
// or a request. The type may be one registered with NewEventType.
// Observers run on the calling goroutine, and Report holds no lock while
// they run. When nothing listens it does nothing and costs a few checks.
func (n Next) Report(ctx context.Context, e Event) {
	if e.Policy == "" {
		e.Policy = "unknown"
	}
	k := reporterKey{e.Policy, e.Name}
	r, ok := outsideReporters.Load(k)
	if !ok {
		r, _ = outsideReporters.LoadOrStore(k, newReporter(e.Policy, e.Name, nil))
	}
	r.(*reporter).Report(ctx, n, e)
}

// outsideReporters holds a reporter per kind and name reported through
// Next.Report; the set is bounded by the policies a program has.
var outsideReporters sync.Map // reporterKey -> *reporter

type reporterKey struct{ kind, name string }
