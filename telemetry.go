package bulwark

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of every meter bulwark creates.
const ScopeName = "github.com/bulwark-go/bulwark"

// Attribute keys of bulwark's metrics and span events. Metric attributes
// stay bounded: no key, URL or error text is ever a metric attribute value.
const (
	AttrPipeline   = attribute.Key("bulwark.pipeline")    // pipeline name
	AttrPolicy     = attribute.Key("bulwark.policy")      // policy kind: breaker, retry ...
	AttrPolicyName = attribute.Key("bulwark.policy.name") // policy instance name
	AttrEvent      = attribute.Key("bulwark.event")       // EventType.String()
	AttrOutcome    = attribute.Key("bulwark.outcome")     // Outcome.String()
	AttrState      = attribute.Key("bulwark.state")       // a policy's current state, on state gauges
	AttrStateFrom  = attribute.Key("bulwark.state.from")
	AttrStateTo    = attribute.Key("bulwark.state.to")
	AttrAttempt    = attribute.Key("bulwark.attempt")
	AttrDelay      = attribute.Key("bulwark.delay")  // seconds; span events only
	AttrReason     = attribute.Key("bulwark.reason") // span events only
	AttrError      = attribute.Key("bulwark.error")  // error text; span events only
	AttrLimit      = attribute.Key("bulwark.limit")  // a new limit; span events only
)

// Instrument names.
const (
	// MetricEvents counts events, by pipeline, policy, policy name, event
	// type and, for state changes, the states.
	MetricEvents = "bulwark.events"
	// MetricCalls counts the calls through a policy, by policy, policy
	// name and outcome, for the policies that count calls for their own
	// logic; read from the policy's counters at collection time.
	MetricCalls = "bulwark.calls"
	// MetricCallDuration is the duration of pipeline calls in seconds, by
	// pipeline and outcome; recorded only for pipelines built with
	// WithCallDuration.
	MetricCallDuration = "bulwark.call.duration"
)

// Reporter delivers one policy's events to OpenTelemetry and to observers.
// Every bulwark policy has one; policies written outside bulwark may use it
// to report the same way.
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
type Reporter struct {
	kind, name string
	observers  []Observer
	explicit   bool
	meter      metric.Meter
	events     metric.Int64Counter
	spanNames  [numEventTypes]atomic.Pointer[string]
	plain      [numEventTypes]atomic.Pointer[[]metric.AddOption] // outside named pipelines, no states
	sets       sync.Map                                          // metricKey -> []metric.AddOption
}

type metricKey struct {
	pipeline, from, to string
	t                  EventType
}

// NewReporter returns the reporter of a policy of the given kind ("breaker")
// and instance name ("" for none). A nil mp means the global MeterProvider,
// so nothing is recorded until the application installs an SDK. It panics if
// kind is empty or an observer is nil.
func NewReporter(kind, name string, mp metric.MeterProvider, observers ...Observer) *Reporter {
	if kind == "" {
		panic("bulwark: NewReporter: kind must not be empty")
	}
	for i, o := range observers {
		if o == nil {
			panic("bulwark: NewReporter: observer " + strconv.Itoa(i) + " is nil")
		}
	}
	r := &Reporter{kind: kind, name: name, observers: observers, explicit: mp != nil}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	r.meter = mp.Meter(ScopeName)
	r.events = eventCounter(mp)
	return r
}

// Meter returns the meter of the policy's provider (the global one if it
// was given none), for the policy's observable instruments.
func (r *Reporter) Meter() metric.Meter { return r.meter }

// Attributes returns the attributes that identify the policy: its kind and
// instance name.
func (r *Reporter) Attributes() []attribute.KeyValue {
	return []attribute.KeyValue{AttrPolicy.String(r.kind), AttrPolicyName.String(r.name)}
}

// Kind returns the policy kind the reporter was built with.
func (r *Reporter) Kind() string { return r.kind }

// Name returns the policy instance name the reporter was built with.
func (r *Reporter) Name() string { return r.name }

// Listening reports whether an event reported now would reach anything: an
// SDK behind the metric, a recording span in ctx, or an observer. A policy
// on a hot failure path asks it before building an event; Report asks it
// again, so calling Report alone is always correct.
func (r *Reporter) Listening(ctx context.Context, next Next) bool {
	s := next.scopeOf()
	if len(r.observers) > 0 || (s != nil && len(s.observers) > 0) {
		return true
	}
	counter := r.events
	if s != nil && !r.explicit && s.events != nil {
		counter = s.events
	}
	return counter.Enabled(ctx) || trace.SpanFromContext(ctx).IsRecording()
}

// Report delivers e, after filling in its Policy, Name and Pipeline
// fields. next is the Next the reporting stage was given (its zero value
// outside a pipeline). Report keeps no reference to e. When nothing listens
// (no SDK installed, no recording span, no observer) it returns after three
// checks and does not touch e.
func (r *Reporter) Report(ctx context.Context, next Next, e *Event) {
	counter := r.events
	s := next.scopeOf()
	if s != nil && !r.explicit && s.events != nil {
		counter = s.events
	}
	counted := counter.Enabled(ctx)
	span := trace.SpanFromContext(ctx)
	traced := span.IsRecording()
	if !counted && !traced && len(r.observers) == 0 && (s == nil || len(s.observers) == 0) {
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
		span.AddEvent(r.spanName(e.Type), trace.WithAttributes(spanAttributes(e)...))
	}
	for _, o := range r.observers {
		o(ctx, *e)
	}
	if s != nil {
		for _, o := range s.observers {
			o(ctx, *e)
		}
	}
}

func (r *Reporter) spanName(t EventType) string {
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
func (r *Reporter) options(e *Event) []metric.AddOption {
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

func (r *Reporter) buildOptions(k metricKey) []metric.AddOption {
	kv := make([]attribute.KeyValue, 0, 6)
	kv = append(kv,
		AttrPipeline.String(k.pipeline),
		AttrPolicy.String(r.kind),
		AttrPolicyName.String(r.name),
		AttrEvent.String(k.t.String()))
	if k.from != "" || k.to != "" {
		kv = append(kv, AttrStateFrom.String(k.from), AttrStateTo.String(k.to))
	}
	return []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(kv...))}
}

func spanAttributes(e *Event) []attribute.KeyValue {
	kv := make([]attribute.KeyValue, 0, 11)
	kv = append(kv,
		AttrPipeline.String(e.Pipeline),
		AttrPolicy.String(e.Policy),
		AttrPolicyName.String(e.Name),
		AttrEvent.String(e.Type.String()))
	if e.Attempt > 0 {
		kv = append(kv, AttrAttempt.Int(e.Attempt))
	}
	if e.Delay > 0 {
		kv = append(kv, AttrDelay.Float64(e.Delay.Seconds()))
	}
	if e.From != "" || e.To != "" {
		kv = append(kv, AttrStateFrom.String(e.From), AttrStateTo.String(e.To))
	}
	if e.Reason != "" {
		kv = append(kv, AttrReason.String(e.Reason))
	}
	if e.Limit > 0 {
		kv = append(kv, AttrLimit.Int(e.Limit))
	}
	if e.Err != nil {
		kv = append(kv, AttrError.String(e.Err.Error()))
	}
	return kv
}

func eventCounter(mp metric.MeterProvider) metric.Int64Counter {
	// The API returns a usable no-op instrument alongside any error, and
	// the only errors are name validation, which these constant names pass.
	c, _ := mp.Meter(ScopeName).Int64Counter(MetricEvents,
		metric.WithDescription("Events reported by bulwark policies."),
		metric.WithUnit("{event}"))
	return c
}

// callDuration is the stage a pipeline built with WithCallDuration runs
// first: it times everything after it, to the protected function.
type callDuration struct {
	hist metric.Float64Histogram
	opts [len(outcomeNames)][]metric.RecordOption
}

func newCallDuration(mp metric.MeterProvider, pipeline string) *callDuration {
	h, _ := mp.Meter(ScopeName).Float64Histogram(MetricCallDuration,
		metric.WithDescription("Duration of calls through a bulwark pipeline."),
		metric.WithUnit("s"))
	d := &callDuration{hist: h}
	for o := range d.opts {
		d.opts[o] = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(
			AttrPipeline.String(pipeline), AttrOutcome.String(Outcome(o).String())))}
	}
	return d
}

func (d *callDuration) Execute(ctx context.Context, fn func(context.Context) error) error {
	return RunStage(ctx, d, fn)
}

func (d *callDuration) ExecuteStage(ctx context.Context, next Next) error {
	start := time.Now()
	err := next.Run(ctx)
	d.hist.Record(ctx, time.Since(start).Seconds(), d.opts[Classify(ctx, err)]...)
	return err
}
