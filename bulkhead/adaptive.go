package bulkhead

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/core"
	"github.com/bulwark-go/bulwark/internal/counter"
	"github.com/bulwark-go/bulwark/internal/outcome"
)

// Sample is what one call tells an Algorithm: how long it took, how many
// calls were in flight when it started, and whether it was dropped (a
// failure of the dependency by the outcome table of the bulwark package
// doc, a timeout included). Calls the table ignores are no samples.
type Sample struct {
	RTT      time.Duration
	InFlight int
	Dropped  bool
}

// Algorithm moves an adaptive limit from the samples of finished calls, as
// in Netflix's concurrency-limits. Make one with AIMD, Vegas or Gradient2;
// an Algorithm keeps state and serves one Adaptive limiter.
type Algorithm interface {
	// Update returns the new limit after sample, given the current one.
	// Calls are serialised by the limiter.
	Update(limit float64, s Sample) float64
	// name seals the interface: an Algorithm comes from AIMD, Vegas or
	// Gradient2.
	name() string
}

// AIMD grows the limit by one while the limiter is in use (at least half
// the limit in flight) and cuts it to backoff of itself on a dropped call
// or one slower than slow. It panics unless 0.5 <= backoff < 1 and
// slow > 0.
func AIMD(backoff float64, slow time.Duration) Algorithm {
	if math.IsNaN(backoff) || backoff < 0.5 || backoff >= 1 {
		panicf("AIMD", "backoff must be in [0.5, 1), got %v", backoff)
	}
	if slow <= 0 {
		panicf("AIMD", "slow must be > 0, got %v", slow)
	}
	return &aimd{backoff: backoff, slow: slow}
}

type aimd struct {
	backoff float64
	slow    time.Duration
}

func (a *aimd) name() string { return "aimd" }

func (a *aimd) Update(limit float64, s Sample) float64 {
	if s.Dropped || s.RTT > a.slow {
		return limit * a.backoff
	}
	if float64(s.InFlight)*2 >= limit {
		return limit + 1
	}
	return limit
}

// noLoad tracks the shortest RTT seen, over two windows of samples, so that
// it follows a dependency that became slower for good.
type noLoad struct {
	cur, prev time.Duration
	n         int
}

const noLoadWindow = 1000

func (m *noLoad) add(rtt time.Duration) time.Duration {
	if m.cur == 0 || rtt < m.cur {
		m.cur = rtt
	}
	if m.n++; m.n >= noLoadWindow {
		m.prev, m.cur, m.n = m.cur, 0, 0
	}
	if m.prev != 0 && (m.cur == 0 || m.prev < m.cur) {
		return m.prev
	}
	return m.cur
}

// Vegas estimates the queue at the dependency from how much the RTT exceeds
// the no-load RTT (the shortest seen), and keeps that queue between
// 3·log10(limit) and 6·log10(limit) calls: it grows fast while there is no
// queue, slowly while the queue is short, and shrinks once it is long or a
// call is dropped. The limit settles a few calls above the dependency's
// capacity.
func Vegas() Algorithm { return &vegas{} }

type vegas struct{ base noLoad }

func (v *vegas) name() string { return "vegas" }

// minRTT is what an RTT of 0 or less counts as: an answer served at once
// (from a cache, or on the virtual clock of testing/synctest) must not
// divide by zero, nor be taken for "no RTT seen yet".
const minRTT = time.Nanosecond

func (v *vegas) Update(limit float64, s Sample) float64 {
	rtt := max(s.RTT, minRTT)
	base := v.base.add(rtt)
	l := math.Max(1, math.Floor(math.Log10(limit)))
	if s.Dropped {
		return limit - l
	}
	if float64(s.InFlight)*2 < limit {
		return limit // not in use enough to learn anything
	}
	queue := math.Ceil(limit * (1 - float64(base)/float64(rtt)))
	switch {
	case queue <= l:
		return limit + 6*l
	case queue < 3*l:
		return limit + l
	case queue > 6*l:
		return limit - l
	}
	return limit
}

// Gradient2 follows Netflix's Gradient2: the limit is multiplied by the
// gradient tolerance × long RTT / short RTT (clamped to [0.5, 1]) plus a
// small queue allowance, and smoothed. Netflix's long RTT is an average
// that follows a standing queue's latency up, after which the gradient is
// 1 and the limit grows without bound; here the long RTT is never taken
// above the no-load RTT (the shortest seen), which keeps the limit near the
// point where latency starts to rise. It panics unless 1 <= tolerance <= 2.
func Gradient2(tolerance float64) Algorithm {
	if math.IsNaN(tolerance) || tolerance < 1 || tolerance > 2 {
		panicf("Gradient2", "tolerance must be in [1, 2], got %v", tolerance)
	}
	return &gradient2{tolerance: tolerance}
}

type gradient2 struct {
	tolerance float64
	long      float64 // exponential average of RTTs, nanoseconds
	base      noLoad
}

func (g *gradient2) name() string { return "gradient2" }

const (
	gradientSmoothing = 0.2
	gradientQueue     = 2
	longWindow        = 600
)

func (g *gradient2) Update(limit float64, s Sample) float64 {
	d := max(s.RTT, minRTT)
	rtt := float64(d)
	if g.long == 0 {
		g.long = rtt
	} else {
		g.long += (rtt - g.long) * 2 / (longWindow + 1)
	}
	long := math.Min(g.long, float64(g.base.add(d))) // the guard against drift
	if s.Dropped {
		return limit * 0.9
	}
	if float64(s.InFlight)*2 < limit {
		return limit // not in use enough to learn anything
	}
	gradient := math.Max(0.5, math.Min(1, g.tolerance*long/rtt))
	next := limit*gradient + gradientQueue
	return limit*(1-gradientSmoothing) + next*gradientSmoothing
}

// Adaptive is a bulkhead whose limit an Algorithm (AIMD, Vegas, Gradient2)
// moves with the dependency's latency and drops, once a sample window,
// within the bounds of WithLimits: it starts at WithInitialLimit (20),
// shrinks when calls slow down or fail, and grows while they are fast and
// the limit is in use. Calls queue and are rejected as in a Bulkhead.
//
// Execute is the method to call, or the Adaptive as a stage of a bulwark
// pipeline; Limit returns the current limit, Status and Snapshot the rest.
// An Adaptive is safe for concurrent use.
//
// The zero value has no algorithm and no limit: its Execute runs nothing
// and returns an error matching ErrZeroValue; build one with NewAdaptive.
type Adaptive struct {
	g          gate
	alg        Algorithm
	rules      outcome.Rules
	min, max   float64 // the bounds, for the algorithm's float limit
	minI, maxI int64   // the same, for the rounded one
	name       string
	reporter   core.Reporter
	rejected   counter.Striped

	window time.Duration

	mu    sync.Mutex
	limit float64 // the algorithm's exact limit; g.limit holds it rounded
	// The samples of the current window, aggregated.
	winStart               time.Time
	winRTT                 time.Duration // sum
	winCount, winMaxFlight int
	winDropped             bool
}

var (
	_ bulwark.Stage       = (*Adaptive)(nil)
	_ bulwark.Inspectable = (*Adaptive)(nil)
)

// minWindowSamples is the least number of samples a window aggregates.
const minWindowSamples = 10

// NewAdaptive returns a bulkhead whose limit alg moves once a sample window.
// Queueing and rejection work as in a fixed Bulkhead. It panics if alg is
// nil or the limits are invalid.
func NewAdaptive(alg Algorithm, opts ...AdaptiveOption) *Adaptive {
	if alg == nil {
		panicf("NewAdaptive", "algorithm must not be nil")
	}
	c := newConfig(opts, AdaptiveOption.applyAdaptive)
	if c.minLimit == 0 {
		c.minLimit, c.maxLimit = 1, 1000
	}
	if c.sampleWindow == 0 {
		c.sampleWindow = 100 * time.Millisecond
	}
	switch {
	case c.initial == 0:
		// A default is not the user's setting: it yields to the limits.
		c.initial = min(max(defaultInitialLimit, c.minLimit), c.maxLimit)
	case c.initial < c.minLimit || c.initial > c.maxLimit:
		panicf("WithInitialLimit", "%d is outside the limits [%d, %d]", c.initial, c.minLimit, c.maxLimit)
	}
	a := &Adaptive{
		alg: alg, rules: c.rules,
		min: float64(c.minLimit), max: float64(c.maxLimit), minI: int64(c.minLimit), maxI: int64(c.maxLimit),
		limit: float64(c.initial), window: c.sampleWindow,
		name: c.tel.Name, reporter: c.tel.Reporter("adaptive"),
	}
	a.g.limit.Store(int64(c.initial))
	a.g.maxQueue, a.g.maxWait = c.maxQueue, c.maxWait
	instrument(a, true)
	return a
}

const defaultInitialLimit = 20

func (a *Adaptive) gate() *gate                  { return &a.g }
func (a *Adaptive) telemetry() core.Reporter     { return a.reporter }
func (a *Adaptive) rejections() *counter.Striped { return &a.rejected }

// Status returns the adaptive limiter's kind ("adaptive"), name, current
// limit, calls in flight and queued, and the calls it rejected since it
// was built. It takes no lock.
func (a *Adaptive) Status() bulwark.Status { return a.g.status("adaptive", a.name, &a.rejected) }

// Limit returns the current limit.
func (a *Adaptive) Limit() int { return int(a.g.limit.Load()) }

// Execute runs fn once a permit is held, then feeds its latency to the
// algorithm, unless the outcome table ignores the call (the caller's
// cancellation, a local rejection, WithIgnoreIf, a panic). The permit is
// returned whatever happens, and a panic goes on unchanged. Without a
// permit it returns an error matching ErrFull, or ctx.Err() if the caller
// gave up while queued, without running fn.
func (a *Adaptive) Execute(ctx context.Context, fn func(context.Context) error) error {
	return bulwark.RunStage(ctx, a, fn)
}

// ExecuteStage implements bulwark.Stage.
func (a *Adaptive) ExecuteStage(ctx context.Context, next bulwark.Next) error {
	if !a.g.tryAcquire() {
		if a.reporter == nil { // the zero Adaptive, whose limit of 0 leads here
			return errZeroAdaptive
		}
		err := a.g.acquireSlow(ctx)
		if err != nil {
			if errors.Is(err, ErrFull) {
				a.rejected.Add(1)
				if a.reporter.Listening(ctx, next) {
					a.reporter.Report(ctx, next, bulwark.Event{Type: bulwark.EventRejected, Err: err})
				}
			}
			return err
		}
	}
	inflight := int(a.g.inflight.Load())
	start := time.Now()
	// A panic is no sample: it says nothing of the dependency's load. The
	// permit goes back on the way out, and the panic goes on unchanged.
	returned := false
	defer func() {
		if !returned {
			a.g.release()
		}
	}()
	err := next.Run(ctx)
	returned = true
	a.g.release()
	o := a.rules.Classify(ctx, err)
	if o == outcome.Ignored {
		return err
	}
	end := time.Now()
	a.update(ctx, next, end, Sample{RTT: end.Sub(start), InFlight: inflight, Dropped: o == outcome.Failure})
	return err
}

// update adds a sample to the window and, when the window is complete,
// moves the limit.
func (a *Adaptive) update(ctx context.Context, next bulwark.Next, now time.Time, s Sample) {
	a.mu.Lock()
	if a.winCount == 0 {
		a.winStart = now
	}
	a.winCount++
	a.winRTT = addSat(a.winRTT, s.RTT)
	a.winMaxFlight = max(a.winMaxFlight, s.InFlight)
	a.winDropped = a.winDropped || s.Dropped
	if a.winCount < minWindowSamples || now.Sub(a.winStart) < a.window {
		a.mu.Unlock()
		return
	}
	agg := Sample{RTT: a.winRTT / time.Duration(a.winCount), InFlight: a.winMaxFlight, Dropped: a.winDropped}
	a.winCount, a.winRTT, a.winMaxFlight, a.winDropped = 0, 0, 0, false
	if l := a.alg.Update(a.limit, agg); !math.IsNaN(l) { // NaN says nothing: keep the limit
		a.limit = min(max(l, a.min), a.max)
	}
	rounded := a.round(a.limit)
	old := a.g.limit.Swap(rounded)
	a.mu.Unlock()
	if rounded == old {
		return
	}
	if rounded > old && a.g.queued.Load() != 0 {
		a.g.grant()
	}
	if a.reporter.Listening(ctx, next) {
		a.reporter.Report(ctx, next, bulwark.Event{Type: bulwark.EventLimitChange, Limit: int(rounded)})
	}
}

// round converts the algorithm's limit, already within [min, max], to the
// permits of the gate. It saturates: float64(MaxInt64) is 2^63, which a
// plain conversion wraps to MinInt64.
func (a *Adaptive) round(l float64) int64 {
	r := math.Round(l)
	if r >= float64(a.maxI) {
		return a.maxI
	}
	return min(max(int64(r), a.minI), a.maxI)
}

// addSat adds two non-negative durations, saturating at the largest.
func addSat(a, b time.Duration) time.Duration {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// Snapshot returns the adaptive limiter's limit, use and rejections.
func (a *Adaptive) Snapshot() Snapshot {
	return Snapshot{Limit: int(a.g.limit.Load()), InFlight: int(a.g.inflight.Load()),
		Queued: int(a.g.queued.Load()), Rejected: a.rejected.Load()}
}
