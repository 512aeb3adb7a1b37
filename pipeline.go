package bulwark

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"unsafe"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
)

// Pipeline composes policies, outermost first, and is itself a Policy, so
// pipelines nest. Build one with New and, for a name and telemetry, With.
// A Pipeline is immutable and safe for concurrent use; its zero value runs
// the protected function directly.
type Pipeline struct {
	policies []Policy
	cfg      config
	head     *node // head.next is the first stage; nil in the zero Pipeline
}

var _ Policy = (*Pipeline)(nil)

// entry is one stage of a flattened pipeline with the scope it reports in.
type entry struct {
	stage Stage
	scope *scope
}

// link builds the pipeline's chain of nodes from its flattened entries.
//
// Every call reads every node, and nothing writes them once linked, so
// they are allocated together with a cache line of padding on each side:
// allocated one by one, 32-byte nodes shared their lines with whatever
// the allocator put beside them, and a pipeline run from two goroutines
// cost twice its serial time when that neighbour was written per call.
func (p *Pipeline) link(entries []entry) {
	const pad = int(64 / unsafe.Sizeof(node{})) // nodes in one cache line
	block := make([]node, pad+1+len(entries)+pad)
	nodes := block[pad : pad+1+len(entries)]
	p.head = &nodes[0]
	next := terminal
	for i := len(entries) - 1; i >= 0; i-- {
		nodes[i+1] = node{stage: entries[i].stage, scope: entries[i].scope, next: next}
		next = &nodes[i+1]
	}
	nodes[0].next = next
}

// scope is what a stage's events learn of the pipelines around it.
type scope struct {
	name      string              // innermost pipeline name that is set
	observers []Observer          // innermost pipeline's first
	events    metric.Int64Counter // innermost explicit provider's, or nil
	noSpans   bool                // WithoutSpanEvents on this pipeline or one around it
}

type config struct {
	name         string
	observers    []Observer
	mp           metric.MeterProvider
	callDuration bool
	noSpanEvents bool
}

// Option configures a Pipeline in With.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithName names the pipeline. The name is the bulwark.pipeline attribute of
// the events of every policy in it (unless a named pipeline nested inside
// is closer) and of its call duration. Default: unnamed (""). It panics if
// name is empty.
func WithName(name string) Option {
	if name == "" {
		panic("bulwark: WithName: name must not be empty")
	}
	return optionFunc(func(c *config) { c.name = name })
}

// WithObserver adds an observer of the events of every policy in the
// pipeline, nested pipelines included. Observers are called in the order
// added. Default: none. It panics if o is nil.
func WithObserver(o Observer) Option {
	if o == nil {
		panic("bulwark: WithObserver: observer must not be nil")
	}
	return optionFunc(func(c *config) { c.observers = append(c.observers, o) })
}

// WithoutSpanEvents stops the policies of the pipeline, nested pipelines
// included, from adding their events to the call's span; metrics and
// observers still receive them. A span event costs about a microsecond and
// a kilobyte with the OpenTelemetry SDK, and a hot pipeline whose events the
// metrics already tell may not want them in every trace. Default: span
// events on.
func WithoutSpanEvents() Option {
	return optionFunc(func(c *config) { c.noSpanEvents = true })
}

// WithMeterProvider records the pipeline's call duration, and the events of
// its policies that were not given a provider of their own, through mp.
// Default: the policies' own providers, and the global provider for the
// call duration. It panics if mp is nil.
func WithMeterProvider(mp metric.MeterProvider) Option {
	if mp == nil {
		panic("bulwark: WithMeterProvider: provider must not be nil")
	}
	return optionFunc(func(c *config) { c.mp = mp })
}

// WithCallDuration records the duration of every call through the pipeline
// in the bulwark.call.duration histogram, by pipeline and outcome. It reads
// the clock twice per call. Default: off.
func WithCallDuration() Option {
	return optionFunc(func(c *config) { c.callDuration = true })
}

// New composes policies into a pipeline, outermost first: the first policy
// sees the call first and its final outcome last. A pipeline among the
// policies is spliced in, keeping its name and observers for its own
// policies. New panics if a policy is nil, naming its position.
func New(policies ...Policy) *Pipeline {
	for i, p := range policies {
		if isNil(p) {
			panic(fmt.Sprintf("bulwark: New: policy %d is nil", i))
		}
	}
	p := &Pipeline{policies: slices.Clone(policies)}
	p.link(p.flatten(nil, nil))
	return p
}

// With returns a copy of the pipeline configured by opts; p is unchanged.
// Nil options are ignored.
func (p *Pipeline) With(opts ...Option) *Pipeline {
	q := &Pipeline{policies: p.policies, cfg: p.cfg}
	q.cfg.observers = slices.Clone(p.cfg.observers)
	for _, o := range opts {
		if o != nil {
			o.apply(&q.cfg)
		}
	}
	q.link(q.flatten(nil, nil))
	return q
}

// Name returns the pipeline's name, "" if unnamed.
func (p *Pipeline) Name() string { return p.cfg.name }

// Execute runs fn through the pipeline's policies. It returns ErrNilContext
// or ErrNilFunc, without running anything, when ctx or fn is nil.
func (p *Pipeline) Execute(ctx context.Context, fn func(context.Context) error) error {
	if ctx == nil {
		return ErrNilContext
	}
	if fn == nil {
		return ErrNilFunc
	}
	cur := p.head
	if cur == nil { // the zero Pipeline
		cur = direct
	}
	return Next{cur: cur, fn: fn}.Run(ctx)
}

// flatten appends p's stages to dst, nested pipelines spliced in, each with
// the scope it reports in.
func (p *Pipeline) flatten(dst []entry, parent *scope) []entry {
	s := &scope{name: p.cfg.name, observers: slices.Clone(p.cfg.observers), noSpans: p.cfg.noSpanEvents}
	if parent != nil {
		s.noSpans = s.noSpans || parent.noSpans
		if s.name == "" {
			s.name = parent.name
		}
		s.observers = append(s.observers, parent.observers...)
		s.events = parent.events
	}
	if p.cfg.mp != nil {
		s.events = eventCounter(p.cfg.mp)
	}
	if p.cfg.callDuration {
		mp := p.cfg.mp
		if mp == nil {
			mp = otel.GetMeterProvider()
		}
		dst = append(dst, entry{stage: newCallDuration(mp, s.name), scope: s})
	}
	for _, pol := range p.policies {
		if inner, ok := pol.(*Pipeline); ok {
			dst = inner.flatten(dst, s)
			continue
		}
		st, ok := pol.(Stage)
		if !ok {
			st = policyStage{pol}
		}
		dst = append(dst, entry{stage: st, scope: s})
	}
	return dst
}

func isNil(p Policy) bool {
	if p == nil {
		return true
	}
	switch v := reflect.ValueOf(p); v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface:
		return v.IsNil()
	}
	return false
}
