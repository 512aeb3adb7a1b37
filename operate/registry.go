package operate

import (
	"errors"
	"math"
	"reflect"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
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
	if l := newLatency(p); l != nil {
		pe.latency = l
		r.untaps.add(l.stop)
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

// latency sums the durations of a pipeline's calls while someone reads
// the registry, striped so that the calls of many cores do not share a
// cache line. It is attached to the pipeline's calls by a read, and
// detaches itself at the first call that starts watchFor after the last
// read: a pipeline that nobody watches runs as if it were not registered.
type latency struct {
	p     bulwark.Policy
	c     counter.Striped
	until atomic.Int64 // Unix nanoseconds: calls that start later detach it

	mu    sync.Mutex
	untap func() // set while attached; requires mu held
}

// watchFor is how long the calls of a pipeline are timed for the dashboard
// after the registry was last read: longer than the longest interval of
// /events, so that a page open on the dashboard keeps them timed.
const watchFor = 2 * maxInterval

const (
	slotNanos = iota
	slotCalls
)

// newLatency returns the latency of p, nil if p does not measure its
// calls (a pipeline built without bulwark.WithCallDuration, or any other
// policy).
func newLatency(p bulwark.Policy) *latency {
	l := &latency{p: p}
	untap, ok := core.TapDuration(p, l.record)
	if !ok {
		return nil
	}
	untap() // attached by the first read
	return l
}

func (l *latency) record(start time.Time, took time.Duration) {
	if start.UnixNano() > l.until.Load() {
		l.expire(start)
		return
	}
	l.c.AddAt(slotNanos, int64(took))
	l.c.AddAt(slotCalls, 1)
}

// expire detaches l from the pipeline's calls unless a read has extended
// the watch since the call that found it over.
func (l *latency) expire(start time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.untap != nil && start.UnixNano() > l.until.Load() {
		l.untap()
		l.untap = nil
	}
}

// watch times the calls that start until now+watchFor.
func (l *latency) watch(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if u := now.Add(watchFor).UnixNano(); u > l.until.Load() {
		l.until.Store(u)
	}
	if l.untap == nil {
		l.untap, _ = core.TapDuration(l.p, l.record)
	}
}

// stop detaches l for good: its registry is gone.
func (l *latency) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.until.Store(math.MinInt64)
	if l.untap != nil {
		l.untap()
		l.untap = nil
	}
}

func (l *latency) load() (nanos, calls int64) {
	return l.c.LoadAt(slotNanos), l.c.LoadAt(slotCalls)
}
