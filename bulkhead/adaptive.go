package bulkhead

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/counter"
)

// Sample is what one call tells an Algorithm: how long it took, how many
// calls were in flight when it started, and whether it was dropped (failed
// or timed out, as opposed to the caller's own cancellation).
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

func (v *vegas) Update(limit float64, s Sample) float64 {
	base := v.base.add(s.RTT)
	l := math.Max(1, math.Floor(math.Log10(limit)))
	if s.Dropped {
		return limit - l
	}
	if float64(s.InFlight)*2 < limit {
		return limit // not in use enough to learn anything
	}
	queue := math.Ceil(limit * (1 - float64(base)/float64(s.RTT)))
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
	rtt := float64(s.RTT)
	if g.long == 0 {
		g.long = rtt
	} else {
		g.long += (rtt - g.long) * 2 / (longWindow + 1)
	}
	long := math.Min(g.long, float64(g.base.add(s.RTT))) // the guard against drift
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

// Adaptive is a bulkhead whose limit follows the dependency's latency. See
// the package documentation.
type Adaptive struct {
	g        gate
	alg      Algorithm
	min, max float64
	reporter *bulwark.Reporter
	rejected counter.Striped

	window time.Duration

	mu    sync.Mutex
	limit float64 // the algorithm's exact limit; g.limit holds it rounded
	// The samples of the current window, aggregated.
	winStart               time.Time
	winRTT                 time.Duration // sum
	winCount, winMaxFlight int
	winDropped             bool
}

var _ bulwark.Stage = (*Adaptive)(nil)

// WithLimits bounds an adaptive limit. Default: 1 and 1000. It panics
// unless 1 <= min <= max.
func WithLimits(min, max int) Option {
	if min < 1 || max < min {
		panicf("WithLimits", "need 1 <= min <= max, got %d and %d", min, max)
	}
	return optionFunc(func(c *config) { c.minLimit, c.maxLimit = min, max })
}

// WithInitialLimit is the limit an adaptive limiter starts from. Default:
// 20, within the limits. It panics if n < 1.
func WithInitialLimit(n int) Option {
	if n < 1 {
		panicf("WithInitialLimit", "n must be >= 1, got %d", n)
	}
	return optionFunc(func(c *config) { c.initial = n })
}

// WithSampleWindow is how long an adaptive limiter gathers samples (and at
// least 10 of them) before it hands their aggregate to the algorithm: the
// average RTT, the largest number in flight, and whether any call was
// dropped. Updating once a window, as Netflix's WindowedLimit does, keeps
// the limit from chasing samples taken under a limit it has already left.
// Default: 100ms. It panics if d <= 0.
func WithSampleWindow(d time.Duration) Option {
	if d <= 0 {
		panicf("WithSampleWindow", "duration must be > 0, got %v", d)
	}
	return optionFunc(func(c *config) { c.sampleWindow = d })
}

// minWindowSamples is the least number of samples a window aggregates.
const minWindowSamples = 10

// NewAdaptive returns a bulkhead whose limit alg moves once a sample window.
// Queueing and rejection work as in a fixed Bulkhead. It panics if alg is
// nil or the limits are invalid.
func NewAdaptive(alg Algorithm, opts ...Option) *Adaptive {
	if alg == nil {
		panicf("NewAdaptive", "algorithm must not be nil")
	}
	c := applyOptions(opts)
	if c.throttlerSet() {
		panicf("NewAdaptive", "throttler options apply to NewThrottler only")
	}
	if c.minLimit == 0 {
		c.minLimit, c.maxLimit = 1, 1000
	}
	if c.initial == 0 {
		c.initial = 20
	}
	if c.sampleWindow == 0 {
		c.sampleWindow = 100 * time.Millisecond
	}
	if c.initial < c.minLimit || c.initial > c.maxLimit {
		panicf("WithInitialLimit", "%d is outside the limits [%d, %d]", c.initial, c.minLimit, c.maxLimit)
	}
	a := &Adaptive{
		alg: alg, min: float64(c.minLimit), max: float64(c.maxLimit), limit: float64(c.initial), window: c.sampleWindow,
		reporter: c.tel.Reporter("adaptive"),
	}
	a.g.limit.Store(int64(c.initial))
	a.g.maxQueue, a.g.maxWait = c.maxQueue, c.maxWait
	observeGauges(a.reporter, &a.g, a.g.limit.Load)
	return a
}

// Limit returns the current limit.
func (a *Adaptive) Limit() int { return int(a.g.limit.Load()) }

// Execute runs fn once a permit is held, then feeds its latency to the
// algorithm.
func (a *Adaptive) Execute(ctx context.Context, fn func(context.Context) error) error {
	return bulwark.RunStage(ctx, a, fn)
}

// ExecuteStage implements bulwark.Stage.
func (a *Adaptive) ExecuteStage(ctx context.Context, next bulwark.Next) error {
	if !a.g.tryAcquire() {
		err := a.g.acquireSlow(ctx)
		if err != nil {
			if errors.Is(err, ErrFull) {
				a.rejected.Add(1)
				if a.reporter.Listening(ctx, next) {
					a.reporter.Report(ctx, next, &bulwark.Event{Type: bulwark.EventRejected, Err: err})
				}
			}
			return err
		}
	}
	inflight := int(a.g.inflight.Load())
	start := time.Now()
	returned := false
	defer func() {
		a.g.release()
		if !returned {
			a.update(ctx, next, start, Sample{RTT: time.Since(start), InFlight: inflight, Dropped: true})
		}
	}()
	err := next.Run(ctx)
	returned = true
	if bulwark.CallerCanceled(ctx, err) {
		return err // says nothing of the dependency
	}
	end := time.Now()
	a.update(ctx, next, end, Sample{RTT: end.Sub(start), InFlight: inflight, Dropped: err != nil})
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
	a.winRTT += s.RTT
	a.winMaxFlight = max(a.winMaxFlight, s.InFlight)
	a.winDropped = a.winDropped || s.Dropped
	if a.winCount < minWindowSamples || now.Sub(a.winStart) < a.window {
		a.mu.Unlock()
		return
	}
	agg := Sample{RTT: a.winRTT / time.Duration(a.winCount), InFlight: a.winMaxFlight, Dropped: a.winDropped}
	a.winCount, a.winRTT, a.winMaxFlight, a.winDropped = 0, 0, 0, false
	a.limit = math.Max(a.min, math.Min(a.max, a.alg.Update(a.limit, agg)))
	rounded := int64(math.Round(a.limit))
	old := a.g.limit.Swap(rounded)
	a.mu.Unlock()
	if rounded == old {
		return
	}
	if rounded > old && a.g.queued.Load() != 0 {
		a.g.grant()
	}
	if a.reporter.Listening(ctx, next) {
		a.reporter.Report(ctx, next, &bulwark.Event{Type: bulwark.EventLimitChange, Limit: int(rounded), Reason: a.alg.name()})
	}
}

// Snapshot returns the adaptive limiter's limit, use and rejections.
func (a *Adaptive) Snapshot() Snapshot {
	return Snapshot{Limit: int(a.g.limit.Load()), InFlight: int(a.g.inflight.Load()),
		Queued: int(a.g.queued.Load()), Rejected: a.rejected.Load()}
}
