package breaker

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/clock"
	"github.com/bulwark-go/bulwark/internal/counter"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// State is the state of a Breaker.
type State uint8

const (
	// Closed: calls pass, and their outcomes are recorded.
	Closed State = iota
	// Open: calls are rejected with ErrOpen until the open duration ends.
	Open
	// HalfOpen: a limited number of probes pass; their outcomes close or
	// reopen the breaker.
	HalfOpen
	// Isolated: forced open by Isolate until Reset.
	Isolated
	// Disabled: calls always pass and outcomes are recorded, but the
	// breaker never opens, until Reset.
	Disabled

	numStates
)

var stateNames = [numStates]string{"closed", "open", "half_open", "isolated", "disabled"}

// String returns "closed", "open", "half_open", "isolated" or "disabled".
func (s State) String() string {
	if s < numStates {
		return stateNames[s]
	}
	return "unknown"
}

// The state word packs the state (low 3 bits) with a generation that every
// transition increments, so that a result can tell whether the state it was
// admitted under still holds.
const stateBits = 3

func stateOf(w uint64) State { return State(w & (1<<stateBits - 1)) }

// Reasons of state changes, in Event.Reason.
const (
	ReasonConsecutiveFailures = "consecutive_failures"
	ReasonFailureRatio        = "failure_ratio"
	ReasonSlowCallRatio       = "slow_call_ratio"
	ReasonOpenElapsed         = "open_duration_elapsed"
	ReasonProbesSucceeded     = "probes_succeeded"
	ReasonProbeFailed         = "probe_failed"
	ReasonHalfOpenTimeout     = "half_open_timeout"
	ReasonIsolate             = "isolate"
	ReasonDisable             = "disable"
	ReasonReset               = "reset"
)

// ErrOpen is matched, with errors.Is, by every rejection of a Breaker, and
// it matches bulwark.ErrRejected. The rejection of an open breaker also
// carries the time left until it admits probes, for bulwark.RetryAfter.
var ErrOpen error = &rejection{msg: "bulwark/breaker: open"}

type rejection struct{ msg string }

func (e *rejection) Error() string   { return e.msg }
func (e *rejection) Is(t error) bool { return t == ErrOpen || t == bulwark.ErrRejected }

var (
	errIsolated   = &rejection{msg: "bulwark/breaker: open (isolated)"}
	errProbesBusy = &rejection{msg: "bulwark/breaker: open (half-open, all probes admitted)"}
)

// openError is the rejection of an open breaker. One is made each time the
// breaker opens and shared by every rejection until it closes, so
// rejecting allocates nothing; the time left is computed when asked.
type openError struct {
	rejection
	b     *Breaker
	until time.Duration // from the breaker's epoch
}

func (e *openError) RetryAfter() time.Duration { return max(0, e.until-e.b.sinceEpoch()) }

// Breaker is a circuit breaker. See the package documentation. It is safe
// for concurrent use.
type Breaker struct {
	cfg      config
	clock    clock.Clock
	epoch    time.Time
	reporter *bulwark.Reporter
	fast     bool // no window: a success or an ignored outcome in closed state takes no lock
	timed    bool // the slow rule needs each call's duration
	timeWin  bool // the window needs the time of each outcome

	word    atomic.Uint64 // generation<<stateBits | state
	consec  atomic.Int64  // consecutive failures while closed
	openErr atomic.Pointer[openError]
	calls   [4]counter.Striped // by bulwark.Outcome

	mu        sync.Mutex
	win       window
	reopens   int // opens since the breaker last closed
	admitted  int // probes admitted in this half-open period
	succeeded int
	failed    int
	timer     clock.Timer
	lastNext  bulwark.Next // where the last transition was reported, for timer-driven ones
}

var _ bulwark.Stage = (*Breaker)(nil)

// New returns a closed Breaker configured by opts. With no options it opens
// after 5 consecutive failures, stays open 60s, then admits one probe whose
// success closes it. It panics, naming the option and the value, if the
// configuration is invalid.
func New(opts ...Option) *Breaker {
	c := newConfig(opts)
	b := &Breaker{
		cfg:      c,
		clock:    c.clock,
		reporter: c.tel.Reporter("breaker"),
		timed:    c.slowThreshold > 0,
		timeWin:  c.timeSpan > 0,
	}
	b.epoch = b.clock.Now()
	switch {
	case c.countWindow > 0:
		b.win = newCountWindow(c.countWindow)
	case c.timeSpan > 0:
		b.win = newTimeWindow(c.timeSpan, c.timeBuckets)
	}
	b.fast = b.win == nil
	b.observe()
	return b
}

func (b *Breaker) sinceEpoch() time.Duration { return b.clock.Since(b.epoch) }

// State returns the breaker's state. An open breaker becomes half-open, by
// a timer, the moment its open duration ends.
func (b *Breaker) State() State { return stateOf(b.word.Load()) }

// Execute runs fn if the breaker admits it and records its outcome. A
// rejection returns an error matching ErrOpen without running fn. A panic
// in fn is recorded as a failure and propagates.
func (b *Breaker) Execute(ctx context.Context, fn func(context.Context) error) error {
	if ctx == nil {
		return bulwark.ErrNilContext
	}
	if fn == nil {
		return bulwark.ErrNilFunc
	}
	return b.execute(ctx, bulwark.Next{}, fn)
}

// ExecuteStage implements bulwark.Stage.
func (b *Breaker) ExecuteStage(ctx context.Context, next bulwark.Next) error {
	return b.execute(ctx, next, nil)
}

// execute runs fn, or the rest of the pipeline when fn is nil, under the
// breaker. Execute calls fn itself rather than through a Next, which saves
// the hop through the end of a chain.
func (b *Breaker) execute(ctx context.Context, next bulwark.Next, fn func(context.Context) error) (err error) {
	w := b.word.Load()
	if s := stateOf(w); s != Closed && s != Disabled {
		if w, err = b.admit(ctx, next, w); err != nil {
			return err
		}
	}
	var start time.Duration
	if b.timed {
		start = b.sinceEpoch()
	}
	// pending holds w, marked, until fn returns: if it is still set when
	// the deferred call runs, fn panicked. One word keeps the defer cheap.
	pending := w | panicMark
	defer b.recordPanic(&pending)
	if fn != nil {
		err = fn(ctx)
	} else {
		err = next.Run(ctx)
	}
	pending = 0
	if err == nil && b.fast && stateOf(w) != HalfOpen {
		// The common case, inline: no lock, and no write but the striped
		// count unless a failure streak ends, so cores do not trade a
		// cache line.
		b.calls[bulwark.OutcomeSuccess].Add(1)
		if b.consec.Load() != 0 {
			b.endStreak(w)
		}
		return nil
	}
	b.record(ctx, next, w, start, b.classify(ctx, err))
	return err
}

// panicMark sets a bit that no state word uses, so that a pending word is
// never zero.
const panicMark = 1 << 63

// recordPanic records a failure for a call that panicked (*pending is still
// set); the panic goes on. It takes one argument because a deferred call's
// arguments are stored on every call, panic or not: a transition it causes
// is reported without the call's span and pipeline.
func (b *Breaker) recordPanic(pending *uint64) {
	if *pending != 0 {
		b.record(context.Background(), bulwark.Next{}, *pending&^panicMark, 0, bulwark.OutcomeFailure)
	}
}

// endStreak resets the failure streak after a success, unless the state
// changed since the call was admitted.
func (b *Breaker) endStreak(w uint64) {
	if b.word.Load() == w {
		b.consec.Store(0)
	}
}

// admit decides on a call when the breaker is not closed: it returns the
// state word the call runs under, or the rejection.
func (b *Breaker) admit(ctx context.Context, next bulwark.Next, w uint64) (uint64, error) {
	for {
		switch stateOf(w) {
		case Closed, Disabled:
			return w, nil
		case HalfOpen:
			b.mu.Lock()
			if b.word.Load() != w {
				w = b.word.Load()
				b.mu.Unlock()
				continue
			}
			if b.admitted >= b.cfg.probes {
				b.mu.Unlock()
				return 0, b.reject(ctx, next, errProbesBusy)
			}
			b.admitted++
			b.mu.Unlock()
			return w, nil
		case Open:
			if e := b.openErr.Load(); e != nil {
				return 0, b.reject(ctx, next, e)
			}
			return 0, b.reject(ctx, next, ErrOpen)
		default:
			return 0, b.reject(ctx, next, errIsolated)
		}
	}
}

func (b *Breaker) reject(ctx context.Context, next bulwark.Next, err error) error {
	b.calls[bulwark.OutcomeRejected].Add(1)
	if b.reporter.Listening(ctx, next) {
		b.reporter.Report(ctx, next, &bulwark.Event{Type: bulwark.EventRejected, Reason: stateOf(b.word.Load()).String(), Err: err})
	}
	return err
}

// classify turns a call's error into an outcome.
func (b *Breaker) classify(ctx context.Context, err error) bulwark.Outcome {
	switch {
	case err == nil:
		return bulwark.OutcomeSuccess
	case bulwark.CallerCanceled(ctx, err):
		return bulwark.OutcomeIgnored
	case b.cfg.ignoreIf != nil && b.cfg.ignoreIf(err):
		return bulwark.OutcomeIgnored
	case b.cfg.failureIf != nil:
		if b.cfg.failureIf(err) {
			return bulwark.OutcomeFailure
		}
		return bulwark.OutcomeSuccess
	case errors.Is(err, bulwark.ErrRejected) && !errors.Is(err, context.DeadlineExceeded):
		return bulwark.OutcomeIgnored // another policy refused the call locally
	default:
		return bulwark.OutcomeFailure
	}
}

// record applies the outcome of a call admitted under state word w.
func (b *Breaker) record(ctx context.Context, next bulwark.Next, w uint64, start time.Duration, o bulwark.Outcome) {
	b.calls[o].Add(1)
	s := stateOf(w)
	if s != HalfOpen {
		if o == bulwark.OutcomeIgnored {
			return
		}
		if o == bulwark.OutcomeSuccess && b.fast {
			if b.consec.Load() != 0 {
				b.endStreak(w)
			}
			return
		}
	}
	slow := b.timed && o != bulwark.OutcomeIgnored && b.sinceEpoch()-start > b.cfg.slowThreshold
	b.mu.Lock()
	if b.word.Load() != w {
		b.mu.Unlock() // admitted under a state that has since changed: dropped
		return
	}
	var ch change
	if s == HalfOpen {
		ch = b.recordProbeLocked(o)
	} else {
		ch = b.recordClosedLocked(o == bulwark.OutcomeFailure, slow, s == Disabled)
	}
	if ch.changed() {
		b.lastNext = next.Detach()
	}
	b.mu.Unlock()
	b.emit(ctx, next, ch)
}

// recordClosedLocked records an outcome in closed (or disabled) state and
// opens the breaker if a rule says so. Rules are evaluated on failures and
// slow calls only: a breaker never opens on a fast success. It requires
// b.mu held.
func (b *Breaker) recordClosedLocked(failure, slow, disabled bool) change {
	var at time.Duration
	if b.win != nil {
		if b.timeWin {
			at = b.sinceEpoch()
		}
		b.win.add(at, failure, slow)
	}
	var streak int64
	if failure {
		streak = b.consec.Add(1)
	} else {
		b.consec.Store(0)
	}
	if disabled || (!failure && !slow) {
		return change{}
	}
	if b.cfg.consecutive > 0 && streak >= int64(b.cfg.consecutive) {
		return b.setLocked(Open, ReasonConsecutiveFailures)
	}
	if b.win != nil {
		calls, failures, slowCalls := b.win.counts(at)
		if calls >= b.cfg.minCalls {
			if b.cfg.ratio > 0 && float64(failures)/float64(calls) >= b.cfg.ratio {
				return b.setLocked(Open, ReasonFailureRatio)
			}
			if b.cfg.slowRatio > 0 && float64(slowCalls)/float64(calls) >= b.cfg.slowRatio {
				return b.setLocked(Open, ReasonSlowCallRatio)
			}
		}
	}
	return change{}
}

// recordProbeLocked records a probe's outcome: enough successes close the
// breaker; as soon as enough successes can no longer come, it reopens; an
// ignored probe frees its slot. It requires b.mu held.
func (b *Breaker) recordProbeLocked(o bulwark.Outcome) change {
	switch o {
	case bulwark.OutcomeSuccess:
		b.succeeded++
		if b.succeeded >= b.cfg.probeNeed {
			return b.setLocked(Closed, ReasonProbesSucceeded)
		}
	case bulwark.OutcomeFailure:
		b.failed++
		if b.failed > b.cfg.probes-b.cfg.probeNeed {
			return b.setLocked(Open, ReasonProbeFailed)
		}
	default:
		b.admitted--
	}
	return change{}
}

// change is a state transition to report once the lock is released.
type change struct {
	from, to State
	reason   string
}

func (c change) changed() bool { return c.reason != "" }

// setLocked moves the breaker to state to and arms what the new state
// needs. It requires b.mu held.
func (b *Breaker) setLocked(to State, reason string) change {
	w := b.word.Load()
	gen := w>>stateBits + 1
	b.word.Store(gen<<stateBits | uint64(to))
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	b.consec.Store(0)
	if b.win != nil {
		b.win.reset()
	}
	switch to {
	case Open:
		d := b.openDurationLocked()
		b.reopens++
		b.openErr.Store(&openError{rejection: rejection{msg: "bulwark/breaker: open"}, b: b, until: b.sinceEpoch() + d})
		b.timer = b.clock.AfterFunc(d, func() { b.onTimer(gen) })
	case HalfOpen:
		b.admitted, b.succeeded, b.failed = 0, 0, 0
		b.timer = b.clock.AfterFunc(b.cfg.halfOpenWait, func() { b.onTimer(gen) })
	default:
		b.reopens = 0
	}
	return change{from: stateOf(w), to: to, reason: reason}
}

// openDurationLocked is the duration of the next open period. It requires
// b.mu held.
func (b *Breaker) openDurationLocked() time.Duration {
	d := b.cfg.openDuration
	if b.cfg.backoffFactor > 0 && b.reopens > 0 {
		f := float64(d) * math.Pow(b.cfg.backoffFactor, float64(b.reopens))
		if f >= float64(b.cfg.backoffMax) {
			d = b.cfg.backoffMax
		} else {
			d = time.Duration(f)
		}
	}
	if b.cfg.jitter > 0 {
		d = time.Duration(float64(d) * (1 + b.cfg.jitter*(2*rand.Float64()-1)))
	}
	return max(d, 1)
}

// onTimer ends an open period, or a half-open one whose probes did not
// decide in time, if the breaker is still in the generation that armed it.
func (b *Breaker) onTimer(gen uint64) {
	b.mu.Lock()
	w := b.word.Load()
	var ch change
	if w>>stateBits == gen {
		switch stateOf(w) {
		case Open:
			ch = b.setLocked(HalfOpen, ReasonOpenElapsed)
		case HalfOpen:
			ch = b.setLocked(Open, ReasonHalfOpenTimeout)
		}
	}
	next := b.lastNext
	b.mu.Unlock()
	b.emit(context.Background(), next, ch)
}

func (b *Breaker) emit(ctx context.Context, next bulwark.Next, ch change) {
	if !ch.changed() {
		return
	}
	b.reporter.Report(ctx, next, &bulwark.Event{
		Type: bulwark.EventStateChange, From: ch.from.String(), To: ch.to.String(), Reason: ch.reason,
	})
}

// force moves the breaker to state to, whatever its state, and reports it.
func (b *Breaker) force(to State, reason string) {
	b.mu.Lock()
	ch := b.setLocked(to, reason)
	next := b.lastNext
	b.mu.Unlock()
	b.emit(context.Background(), next, ch)
}

// Isolate forces the breaker open until Reset: every call is rejected with
// an error matching ErrOpen, which carries no retry hint.
func (b *Breaker) Isolate() { b.force(Isolated, ReasonIsolate) }

// Disable makes the breaker let every call through, still recording
// outcomes, until Reset.
func (b *Breaker) Disable() { b.force(Disabled, ReasonDisable) }

// Reset closes the breaker and forgets everything it recorded.
func (b *Breaker) Reset() { b.force(Closed, ReasonReset) }

// Snapshot is what a Breaker knows at one moment.
type Snapshot struct {
	State State
	// Calls, Failures and SlowCalls are the outcomes in the window (zero
	// without a ratio rule); the ratios are over Calls.
	Calls, Failures, SlowCalls  int
	FailureRatio, SlowCallRatio float64
	// ConsecutiveFailures is the current failure streak while closed.
	ConsecutiveFailures int
	// UntilHalfOpen is the time left before an open breaker admits
	// probes.
	UntilHalfOpen time.Duration
	// ProbesAdmitted, ProbeSuccesses and ProbeFailures describe the current
	// half-open period.
	ProbesAdmitted, ProbeSuccesses, ProbeFailures int
	// Totals counts every call since New by outcome, rejections included.
	Totals [4]int64
}

// Snapshot returns the breaker's state and counts.
func (b *Breaker) Snapshot() Snapshot {
	b.mu.Lock()
	defer b.mu.Unlock()
	w := b.word.Load()
	s := Snapshot{State: stateOf(w), ConsecutiveFailures: int(b.consec.Load())}
	if b.win != nil {
		var at time.Duration
		if b.timeWin {
			at = b.sinceEpoch()
		}
		s.Calls, s.Failures, s.SlowCalls = b.win.counts(at)
		if s.Calls > 0 {
			s.FailureRatio = float64(s.Failures) / float64(s.Calls)
			s.SlowCallRatio = float64(s.SlowCalls) / float64(s.Calls)
		}
	}
	if s.State == Open {
		if e := b.openErr.Load(); e != nil {
			s.UntilHalfOpen = e.RetryAfter()
		}
	}
	if s.State == HalfOpen {
		s.ProbesAdmitted, s.ProbeSuccesses, s.ProbeFailures = b.admitted, b.succeeded, b.failed
	}
	for o := range s.Totals {
		s.Totals[o] = b.calls[o].Load()
	}
	return s
}

// observe registers the breaker's observable instruments: bulwark.calls
// and bulwark.breaker.state.
func (b *Breaker) observe() {
	b.reporter.ObserveCalls(func() (n [4]int64) {
		for o := range n {
			n[o] = b.calls[o].Load()
		}
		return n
	})
	m := b.reporter.Meter()
	g, err := m.Int64ObservableGauge(MetricState,
		metric.WithDescription("State of a bulwark circuit breaker: 1 for the current state, 0 for the others."),
		metric.WithUnit("{state}"))
	if err != nil {
		return
	}
	var opts [numStates]metric.ObserveOption
	for s := range opts {
		opts[s] = metric.WithAttributeSet(attribute.NewSet(append(b.reporter.Attributes(), bulwark.AttrState.String(State(s).String()))...))
	}
	_, _ = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		cur := b.State()
		for s := range opts {
			var v int64
			if State(s) == cur {
				v = 1
			}
			o.ObserveInt64(g, v, opts[s])
		}
		return nil
	}, g)
}

// MetricState is the observable gauge of breaker states.
const MetricState = "bulwark.breaker.state"
