package operate

import (
	"errors"
	"reflect"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/core"
	"github.com/bulwark-go/bulwark/internal/counter"
)

// Registry holds named policies and pipelines for the dashboard, /status
// and /healthz of Handler. Nothing in it is global: a program may keep one
// registry per Handler, or several.
//
// Registering a policy changes nothing of its calls: the registry reads
// each policy through bulwark.Inspectable when it is read, and keeps the
// policy's recent events in a bounded ring fed by an observer added to the
// policy, which the policy calls only where it reports events anyway.
// Rates and sparklines are sampled when the registry is read (by /status
// or /events), at most once a second, so they cover the time someone was
// looking.
//
// The zero value is an empty registry, ready to use. A Registry is safe
// for concurrent use.
type Registry struct {
	mu        sync.Mutex
	policies  []*entry // in the order registered
	pipelines []*pipelineEntry
	byName    map[string]bool
	untaps    *untaps // shared with the cleanup that runs when the registry is dropped
	sampled   time.Time
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{} }

// RegisterOption configures one registration.
type RegisterOption interface{ applyRegister(*registration) }

type registration struct{ critical bool }

type registerOptionFunc func(*registration)

func (f registerOptionFunc) applyRegister(c *registration) { f(c) }

// Critical marks a policy whose open or isolated state makes /healthz
// answer 503: the breaker in front of a dependency without which the
// service cannot serve. For a pipeline, every stage is critical. Default:
// not critical, shown but never failing the health check.
func Critical() RegisterOption {
	return registerOptionFunc(func(c *registration) { c.critical = true })
}

// entry is one registered policy, or one stage of a registered pipeline.
type entry struct {
	name     string
	pipeline string // the registered pipeline it is a stage of, "" if registered alone
	policy   bulwark.Policy
	control  control // nil unless it is a breaker (or alike)
	critical bool
	events   *ring // nil if the policy could not be tapped

	hist history // requires Registry.mu held
}

// pipelineEntry is one registered pipeline.
type pipelineEntry struct {
	name     string
	stages   []string
	critical bool
	latency  *latency // nil unless built with bulwark.WithCallDuration

	hist latencyHistory // requires Registry.mu held
}

// control is what the dashboard's controls need of a policy: a
// *breaker.Breaker has it.
type control interface {
	Isolate()
	Reset()
	Disable()
}

// untaps holds what to call to detach the registry's observers from its
// policies, run when the registry is garbage-collected: a policy that
// outlives its registry stops feeding a ring nobody reads.
type untaps struct {
	mu sync.Mutex
	fs []func()
}

func (u *untaps) add(f func()) {
	u.mu.Lock()
	u.fs = append(u.fs, f)
	u.mu.Unlock()
}

func (u *untaps) run() {
	u.mu.Lock()
	fs := u.fs
	u.fs = nil
	u.mu.Unlock()
	for _, f := range fs {
		f()
	}
}

// Register adds p to the registry under name. A pipeline registers its
// stages too, each under name/label, where the label is the stage's
// instance name, or its kind if it has none ("checkout/breaker"), with
// "#2", "#3" ... for a label that repeats. The same policy may be
// registered under several names.
//
// It returns an error, and registers nothing, if name is empty or already
// taken (by a policy or a pipeline's stage), or p is nil.
//
// Register reads the policy's fields to add its observer: a zero-value
// policy, configured by its first call, must be registered before that
// call runs or after it, not while it runs.
func (r *Registry) Register(name string, p bulwark.Policy, opts ...RegisterOption) error {
	if name == "" {
		return errors.New("bulwark/operate: Register: name must not be empty")
	}
	if isNil(p) {
		return errors.New("bulwark/operate: Register: policy " + strconv.Quote(name) + " is nil")
	}
	var c registration
	for _, o := range opts {
		if o != nil {
			o.applyRegister(&c)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byName == nil {
		r.byName = map[string]bool{}
		r.untaps = &untaps{}
		runtime.AddCleanup(r, (*untaps).run, r.untaps)
	}
	stages, isPipeline := core.Stages(p)
	if !isPipeline {
		if r.byName[name] {
			return errors.New("bulwark/operate: Register: " + strconv.Quote(name) + " is already registered")
		}
		r.add(newEntry(name, "", p, c.critical))
		return nil
	}
	names := stageNames(name, stages)
	taken := map[string]bool{}
	for _, n := range append([]string{name}, names...) {
		if r.byName[n] || taken[n] {
			return errors.New("bulwark/operate: Register: " + strconv.Quote(n) + " is already registered")
		}
		taken[n] = true
	}
	for i, s := range stages {
		r.add(newEntry(names[i], name, s, c.critical))
	}
	pe := &pipelineEntry{name: name, critical: c.critical, stages: names}
	l := &latency{}
	if untap, ok := core.TapDuration(p, l.record); ok {
		pe.latency = l
		r.untaps.add(untap)
	}
	r.pipelines = append(r.pipelines, pe)
	r.byName[name] = true
	return nil
}

// add records e, and keeps its untap. It requires r.mu held.
func (r *Registry) add(e *entry) {
	if e.events != nil {
		if untap, ok := core.Tap(e.policy, e.events.observe); ok {
			r.untaps.add(untap)
		} else {
			e.events = nil
		}
	}
	r.policies = append(r.policies, e)
	r.byName[e.name] = true
}

func newEntry(name, pipeline string, p bulwark.Policy, critical bool) *entry {
	e := &entry{name: name, pipeline: pipeline, policy: p, critical: critical, events: &ring{}}
	e.control, _ = p.(control)
	return e
}

// isNil reports whether p is nil or a nil pointer (a typed nil would
// fail at the first read).
func isNil(p bulwark.Policy) bool {
	if p == nil {
		return true
	}
	v := reflect.ValueOf(p)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// stageNames names the stages of a pipeline registered as name.
func stageNames(name string, stages []bulwark.Policy) []string {
	names := make([]string, len(stages))
	seen := map[string]int{}
	for i, p := range stages {
		st := statusOf(p)
		label := st.Kind
		if st.Name != "" {
			label = st.Name
		}
		seen[label]++
		if k := seen[label]; k > 1 {
			label += "#" + strconv.Itoa(k)
		}
		names[i] = name + "/" + label
	}
	return names
}

// statusOf reads p through bulwark.Inspectable; a policy that is not one
// has the kind "unknown", as the events it reports through Next.Report.
func statusOf(p bulwark.Policy) bulwark.Status {
	if in, ok := p.(bulwark.Inspectable); ok {
		s := in.Status()
		if s.Kind == "" {
			s.Kind = "unknown"
		}
		return s
	}
	return bulwark.Status{Kind: "unknown"}
}

func (e *entry) status() bulwark.Status { return statusOf(e.policy) }

// failing reports whether a critical policy in state s fails the health
// check: an open breaker, or one isolated by hand. Half-open is on its way
// back and lets probes through; disabled lets every call through.
func failing(s bulwark.Status) bool { return s.State == "open" || s.State == "isolated" }

// latency sums the durations of a pipeline's calls, striped so that the
// calls of many cores do not share a cache line.
type latency struct{ c counter.Striped }

const (
	slotNanos = iota
	slotCalls
)

func (l *latency) record(d time.Duration) {
	l.c.AddAt(slotNanos, int64(d))
	l.c.AddAt(slotCalls, 1)
}

func (l *latency) load() (nanos, calls int64) {
	return l.c.LoadAt(slotNanos), l.c.LoadAt(slotCalls)
}
