package breaker

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/clock"
	"github.com/bulwark-go/bulwark/internal/core"
	"github.com/bulwark-go/bulwark/internal/counter"
	"github.com/bulwark-go/bulwark/internal/observe"
	"github.com/bulwark-go/bulwark/internal/outcome"
	"github.com/bulwark-go/bulwark/internal/semconv"
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

// The state word packs the state (low 3 bits) with a ready bit, set once
// the breaker is configured (by New, or by the first use of a zero
// Breaker), and a generation that every transition increments, so that a
// result can tell whether the state it was admitted under still holds.
const (
	stateMask = 1<<3 - 1
	readyBit  = 1 << 3
	genShift  = 4

	// passMask admits a call in one test: the word of a ready breaker that
	// is Closed (0) or Disabled (4), the two states whose low two bits are
	// clear, and no other, matches passMask with only readyBit set.
	passMask = readyBit | 3
)

func stateOf(w uint64) State { return State(w & stateMask) }

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

// Errors are values of unexported comparable struct types, as in every
// bulwark policy: errors.Is matches a sentinel by ==, and each rejection's
// Is matches bulwark.ErrRejected. None of them is allocated per call.

// ErrOpen is matched, with errors.Is, by every rejection of a Breaker, and
// it matches bulwark.ErrRejected. The rejection of an open breaker also
// carries the time left until it admits probes, for bulwark.RetryAfter;
// those of an isolated breaker and of a half-open one whose probes are all
// admitted carry none.
var ErrOpen error = rejection{}

// rejection is a rejection without a hint; why says which.
type rejection struct{ why uint8 }

const (
	whyOpen = iota
	whyIsolated
	whyProbesBusy
)

func (e rejection) Error() string {
	switch e.why {
	case whyIsolated:
		return "bulwark/breaker: open (isolated)"
	case whyProbesBusy:
		return "bulwark/breaker: open (half-open, all probes admitted)"
	}
	return "bulwark/breaker: open"
}
func (rejection) Is(t error) bool { return t == ErrOpen || t == bulwark.ErrRejected }

var (
	errIsolated   error = rejection{whyIsolated}
	errProbesBusy error = rejection{whyProbesBusy}
)

// openError is the rejection of an open breaker. It points at the open
// period, which is made each time the breaker opens and shared by every
// rejection until it closes, so that rejecting allocates nothing; the time
// left is computed when asked.
type openError struct{ p *openPeriod }

// openPeriod is one stay of the breaker in the open state.
type openPeriod struct {
	b     *Breaker
	until time.Duration // from the breaker's epoch
}

func (openError) Error() string               { return "bulwark/breaker: open" }
func (openError) Is(t error) bool             { return t == ErrOpen || t == bulwark.ErrRejected }
func (e openError) RetryAfter() time.Duration { return e.p.left() }

// left returns the time until the period ends, 0 once it has.
func (p *openPeriod) left() time.Duration { return max(0, p.until-p.b.sinceEpoch()) }

// Breaker is a circuit breaker. Closed, it lets calls through and records
// their outcomes; when a trip rule fires (five failures in a row by
// default) it opens and rejects calls with an error matching ErrOpen,
// which says when it will admit probes; once the open duration has passed
// it is half-open and admits probes, whose outcomes close or reopen it.
// Isolate, Disable and Reset force its state.
//
// Execute is the method most callers want, or the Breaker as a stage of a
// bulwark pipeline; Acquire and Permit.Done serve code that cannot hand
// over a function. State, Status and Snapshot read it.
//
// The zero value is a Breaker with New's defaults: five failures in a row
// open it for 60s, after which one probe's success closes it. It is
// configured on its first use, reports to the global meter provider and
// has no name and no observer. A Breaker is safe for concurrent use; it
// must not be copied after first use.
type Breaker struct {
	// Read by every call.
	word    atomic.Uint64   // generation<<genShift | readyBit | state
	consec  atomic.Int64    // consecutive failures while closed
	calls   counter.Striped // one slot per outcome.Outcome
	fast    bool            // no window: a success or an ignored outcome in closed state takes no lock
	timed   bool            // the slow rule needs each call's duration
	timeWin bool            // the window needs the time of each outcome

	cfg      config
	clock    clock.Clock
	epoch    time.Time
	reporter core.Reporter
	open     atomic.Pointer[openPeriod] // the current or last open period
	series   atomic.Pointer[series]     // built at the first collection
	// sharedSeq is the store's number of the shared opening the current
	// open or half-open period belongs to, 0 if none is known.
	sharedSeq atomic.Uint64
	// fleetRefused is the store's last refusal of a probe in this period.
	fleetRefused atomic.Pointer[refusal]

	mu        sync.Mutex
	win       ratioWindow
	reopens   int // opens since the breaker last closed
	admitted  int // probes admitted in this half-open period
	succeeded int
	failed    int
	waiting   admissions   // of the two-step probes of this half-open period not yet reported, oldest first
	timer     clock.Timer  // the open period's end, or the oldest waiting probe's max wait
	lastNext  bulwark.Next // where the last transition was reported, for timer-driven ones
}

var (
	_ bulwark.Stage       = (*Breaker)(nil)
	_ bulwark.Inspectable = (*Breaker)(nil)
)

// New returns a closed Breaker configured by opts. With no options it opens
// after 5 consecutive failures, stays open 60s, then admits one probe whose
// success closes it. It panics, naming the option and the value, if the
// configuration is invalid.
func New(opts ...Option) *Breaker {
	b := &Breaker{}
	b.setup(newConfig(opts))
	return b
}

// setup configures b and marks it ready. The ready word is stored last:
// a call that reads it sees the configuration.
func (b *Breaker) setup(c config) {
	b.cfg = c
	b.clock = c.clock
	b.reporter = c.tel.Reporter("breaker")
	b.timed = c.slowThreshold > 0
	b.timeWin = c.timeSpan > 0
	b.epoch = b.clock.Now()
	switch {
	case c.countWindow > 0:
		b.win = newCountWindow(c.countWindow)
	case c.timeSpan > 0:
		b.win = newTimeWindow(c.timeSpan, c.timeBuckets)
	}
	b.fast = b.win == nil
	b.observe()
	b.word.Store(readyBit | uint64(Closed))
	if c.store != nil {
		b.join()
	}
}

// ready configures a zero Breaker with New's defaults on its first use.
// The check costs nothing on the call path: a word without readyBit takes
// the same branch as a state that is not closed.
func (b *Breaker) ready() {
	if b.word.Load()&readyBit != 0 {
		return
	}
	b.mu.Lock()
	if b.word.Load()&readyBit == 0 {
		b.setup(newConfig(nil))
	}
	b.mu.Unlock()
}

func (b *Breaker) sinceEpoch() time.Duration { return b.clock.Since(b.epoch) }

// State returns the breaker's state. An open breaker becomes half-open the
// moment its open duration ends, by a timer, or by the first call after it
// if the timer has not run yet.
func (b *Breaker) State() State { return stateOf(b.word.Load()) }

// Execute runs fn if the breaker admits it and records its outcome. A
// rejection returns an error matching ErrOpen without running fn. A panic
// in fn is recorded as a failure and propagates unchanged.
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
	if w&passMask != readyBit {
		if w, err = b.admit(ctx, next, w); err != nil {
			return err
		}
	}
	var start time.Duration
	if b.timed {
		start = b.sinceEpoch()
	}
	// pending holds w, marked, until fn returns: if it is still set when
	// the deferred call runs, fn panicked.
	pending := inflight{w: w | panicMark, ctx: &ctx, next: &next}
	defer b.recordPanic(&pending)
	if fn != nil {
		err = fn(ctx)
	} else {
		err = next.Run(ctx)
	}
	pending.w = 0
	if err == nil && b.fast && stateOf(w) != HalfOpen {
		// The common case, inline: no lock, and no write but the striped
		// count unless a failure streak ends, so cores do not trade a
		// cache line.
		b.calls.AddAt(int(outcome.Success), 1)
		if b.consec.Load() != 0 {
			b.endStreak(w)
		}
		return nil
	}
	b.emit(ctx, next, b.record(next, w, start, b.cfg.rules.Classify(ctx, err), nil))
	return err
}

// inflight is what the deferred call needs to record a panic. It points
// at the call's context and Next rather than copying them: a deferred
// call's arguments are stored on every call, panic or not, and one pointer
// is the cheapest to store.
type inflight struct {
	w    uint64 // the call's state word, marked, until fn returns
	ctx  *context.Context
	next *bulwark.Next
}

// panicMark sets a bit that no state word uses, so that a pending word is
// never zero.
const panicMark = 1 << 63

// recordPanic records a failure for a call that panicked (c.w is still
// set), with no duration: a panic is never a slow call. The transition it
// causes is reported in the call's span and pipeline; the panic goes on
// unchanged, and an observer's panic on that transition is dropped (see
// emitDetached).
func (b *Breaker) recordPanic(c *inflight) {
	if c.w != 0 {
		b.emitDetached(*c.ctx, *c.next, b.record(*c.next, c.w&^panicMark, unmeasured, outcome.Failure, nil))
	}
}

// unmeasured is the start of a call whose duration does not count.
const unmeasured time.Duration = -1

// endStreak resets the failure streak after a success, unless the state
// changed since the call was admitted.
func (b *Breaker) endStreak(w uint64) {
	if b.word.Load() == w {
		b.consec.Store(0)
	}
}

// admit decides on a call when the breaker is not closed, or not ready: it
// returns the state word the call runs under, or the rejection.
func (b *Breaker) admit(ctx context.Context, next bulwark.Next, w uint64) (uint64, error) {
	for {
		if w&readyBit == 0 {
			b.ready()
			w = b.word.Load()
			continue
		}
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
				return 0, b.reject(ctx, next, errProbesBusy, 0)
			}
			b.admitted++
			seq := b.sharedSeq.Load()
			b.mu.Unlock()
			if seq != 0 && !b.fleetProbe(ctx, seq) {
				b.mu.Lock()
				if b.word.Load() == w {
					b.admitted--
				}
				b.mu.Unlock()
				return 0, b.reject(ctx, next, errProbesBusy, 0)
			}
			return w, nil
		case Open:
			// setLocked publishes the period before its word.
			p := b.open.Load()
			if left := p.until - b.sinceEpoch(); left > 0 {
				return 0, b.reject(ctx, next, openError{p}, left)
			}
			w = b.endOpen(ctx, next, w)
		default:
			return 0, b.reject(ctx, next, errIsolated, 0)
		}
	}
}

// endOpen makes an open breaker whose open time has passed half-open
// without waiting for its timer, which may run late on a loaded machine:
// a caller that waited out the RetryAfter hint is admitted. It returns the
// state word after.
func (b *Breaker) endOpen(ctx context.Context, next bulwark.Next, w uint64) uint64 {
	b.mu.Lock()
	var ch change
	if b.word.Load() == w {
		ch = b.setLocked(HalfOpen, ReasonOpenElapsed)
		b.lastNext = core.Detach(next)
	}
	w = b.word.Load()
	b.mu.Unlock()
	b.emit(ctx, next, ch)
	return w
}

// reject counts and reports a rejection with err, whose hint is hint (0
// for none).
func (b *Breaker) reject(ctx context.Context, next bulwark.Next, err error, hint time.Duration) error {
	b.calls.AddAt(int(outcome.Rejected), 1)
	if b.reporter.Listening(ctx, next) {
		b.reporter.Report(ctx, next, bulwark.Event{Type: bulwark.EventRejected, Delay: hint, Err: err})
	}
	return err
}

// record applies the outcome of a call admitted under state word w, which
// started at start (unmeasured for a panic), and returns the transition
// to report. p is the call's Permit, if it has one.
func (b *Breaker) record(next bulwark.Next, w uint64, start time.Duration, o outcome.Outcome, p *Permit) change {
	b.calls.AddAt(int(o), 1)
	s := stateOf(w)
	if s != HalfOpen {
		if o == outcome.Ignored {
			return change{}
		}
		if o == outcome.Success && b.fast {
			if b.consec.Load() != 0 {
				b.endStreak(w)
			}
			return change{}
		}
	}
	slow := b.timed && start != unmeasured && o != outcome.Ignored && b.sinceEpoch()-start > b.cfg.slowThreshold
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.word.Load() != w {
		return change{} // admitted under a state that has since changed: dropped
	}
	var ch change
	if s == HalfOpen {
		if p != nil {
			b.unwatchLocked(p)
		}
		ch = b.recordProbeLocked(o)
	} else {
		ch = b.recordClosedLocked(o == outcome.Failure, slow, s == Disabled)
	}
	if ch.changed() {
		b.lastNext = core.Detach(next)
	}
	return ch
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
func (b *Breaker) recordProbeLocked(o outcome.Outcome) change {
	switch o {
	case outcome.Success:
		b.succeeded++
		if b.succeeded >= b.cfg.probeNeed {
			return b.setLocked(Closed, ReasonProbesSucceeded)
		}
	case outcome.Failure:
		b.failed++
		if b.failed > b.cfg.probes-b.cfg.probeNeed {
			return b.setLocked(Open, ReasonProbeFailed)
		}
	default:
		b.admitted--
	}
	return change{}
}

// watch starts the half-open max wait of p, a two-step probe admitted
// under p.w. Probes under Execute are not watched: they always report.
func (b *Breaker) watch(p *Permit) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p.start = b.sinceEpoch()
	if b.word.Load() != p.w {
		return // the period has ended: the permit's report will be dropped
	}
	b.waiting = append(b.waiting, p.start)
	if b.timer == nil {
		b.armLocked(b.cfg.halfOpenWait)
	}
}

// unwatchLocked ends the max wait of a probe that reported: one admission
// at its time leaves the list (which of two at the same time does not
// matter), so the list holds no Permit and a caller's Permit stays where
// the caller put it. The timer,
// armed for the oldest waiting probe, is stopped once none waits; when a
// younger one still waits, it re-arms itself when it fires. It requires
// b.mu held.
func (b *Breaker) unwatchLocked(p *Permit) {
	if i := slices.Index(b.waiting, p.start); i >= 0 {
		b.waiting = slices.Delete(b.waiting, i, i+1)
	}
	if len(b.waiting) == 0 && b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
}

// armLocked arms the timer of the current generation. The timer holds the
// breaker while it is pending, and no longer. It requires b.mu held.
func (b *Breaker) armLocked(d time.Duration) {
	gen := b.word.Load() >> genShift
	b.timer = b.clock.AfterFunc(d, func() { b.onTimer(gen) })
}

// change is a state transition to report once the lock is released.
type change struct {
	from, to State
	reason   string
	openFor  time.Duration // to Open: the open period
}

func (c change) changed() bool { return c.reason != "" }

// setLocked moves the breaker to state to and arms what the new state
// needs: a timer for the end of an open period, nothing for half-open
// (its first probe may come at any time). It requires b.mu held.
func (b *Breaker) setLocked(to State, reason string) change {
	return b.setForLocked(to, reason, 0)
}

// setOpenLocked opens the breaker for d, the time left in the fleet's open
// period. It requires b.mu held.
func (b *Breaker) setOpenLocked(d time.Duration, reason string) change {
	return b.setForLocked(Open, reason, d)
}

// setForLocked is setLocked with the open period given (d > 0) or
// computed (d = 0). It requires b.mu held.
func (b *Breaker) setForLocked(to State, reason string, open time.Duration) change {
	w := b.word.Load()
	b.fleetRefused.Store(nil)
	if to != HalfOpen { // a half-open period probes the opening before it
		b.sharedSeq.Store(0)
	}
	gen := w>>genShift + 1
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	b.consec.Store(0)
	if b.win != nil {
		b.win.reset()
	}
	clear(b.waiting)
	b.waiting = b.waiting[:0]
	var d time.Duration
	switch to {
	case Open:
		d = open
		if d <= 0 {
			d = b.openDurationLocked()
		}
		b.reopens++
		// Stored before the word, so that a call that sees this open
		// period sees its deadline.
		b.open.Store(&openPeriod{b: b, until: addSat(b.sinceEpoch(), d)})
	case HalfOpen:
		b.admitted, b.succeeded, b.failed = 0, 0, 0
	default:
		b.reopens = 0
	}
	b.word.Store(gen<<genShift | readyBit | uint64(to))
	if to == Open {
		b.armLocked(d)
	}
	return change{from: stateOf(w), to: to, reason: reason, openFor: d}
}

// openDurationLocked is the duration of the next open period, saturated at
// the largest Duration. It requires b.mu held.
func (b *Breaker) openDurationLocked() time.Duration {
	d := b.cfg.openDuration
	if b.cfg.backoffFactor > 0 && b.reopens > 0 {
		d = min(scale(d, math.Pow(b.cfg.backoffFactor, float64(b.reopens))), b.cfg.backoffMax)
	}
	if b.cfg.jitter > 0 {
		d = scale(d, 1+b.cfg.jitter*(2*rand.Float64()-1))
	}
	return max(d, 1)
}

// scale returns d·f for f >= 0, saturated at the largest Duration.
func scale(d time.Duration, f float64) time.Duration {
	v := float64(d) * f
	if v >= math.MaxInt64 { // float64(MaxInt64) is 2⁶³, beyond it
		return math.MaxInt64
	}
	return time.Duration(v)
}

// addSat returns a+d for d >= 0, saturated at the largest Duration.
func addSat(a, d time.Duration) time.Duration {
	if a > math.MaxInt64-d {
		return math.MaxInt64
	}
	return a + d
}

// onTimer ends an open period, or a half-open one whose oldest waiting
// two-step probe has not reported within the max wait, if the breaker is
// still in the generation that armed it. It runs on the timer's goroutine.
func (b *Breaker) onTimer(gen uint64) {
	b.mu.Lock()
	w := b.word.Load()
	var ch change
	if w>>genShift == gen {
		switch stateOf(w) {
		case Open:
			ch = b.setLocked(HalfOpen, ReasonOpenElapsed)
		case HalfOpen:
			ch = b.expireLocked()
		}
	}
	next := b.lastNext
	b.mu.Unlock()
	b.emitDetached(context.Background(), next, ch)
}

// expireLocked reopens the half-open breaker if its oldest waiting probe
// has waited the max wait, which reclaims the slots of permits that never
// report; else it re-arms the timer for that probe. It requires b.mu held.
func (b *Breaker) expireLocked() change {
	b.timer = nil
	if len(b.waiting) == 0 {
		return change{}
	}
	waited := b.sinceEpoch() - b.waiting[0]
	if waited >= b.cfg.halfOpenWait {
		return b.setLocked(Open, ReasonHalfOpenTimeout)
	}
	b.armLocked(b.cfg.halfOpenWait - waited)
	return change{}
}

func (b *Breaker) emit(ctx context.Context, next bulwark.Next, ch change) {
	if !ch.changed() {
		return
	}
	b.publish(ch)
	if !b.reporter.Listening(ctx, next) {
		return
	}
	b.reporter.Report(ctx, next, bulwark.Event{
		Type: bulwark.EventStateChange, From: ch.from.String(), To: ch.to.String(), Reason: ch.reason,
	})
}

// emitDetached reports a transition that no caller can be handed an
// observer's panic for: on the timer's goroutine, where a panic would end
// the process, and while a call's own panic unwinds, which must reach its
// caller unchanged. An observer's panic there is dropped, after the
// transition completed; the observers after it miss that one event.
func (b *Breaker) emitDetached(ctx context.Context, next bulwark.Next, ch change) {
	if !ch.changed() {
		return
	}
	defer func() { _ = recover() }()
	b.emit(ctx, next, ch)
}

// force moves the breaker to state to, whatever its state, and reports the
// transition. Forcing the state it is in reports nothing: Isolate and
// Disable do nothing more, Reset still forgets what the closed breaker
// recorded.
func (b *Breaker) force(to State, reason string) {
	b.ready()
	b.mu.Lock()
	from := stateOf(b.word.Load())
	var ch change
	if from != to {
		ch = b.setLocked(to, reason)
	} else if to == Closed {
		b.setLocked(Closed, reason)
	}
	next := b.lastNext
	b.mu.Unlock()
	b.emit(context.Background(), next, ch)
}

// Isolate forces the breaker open until Reset: every call is rejected with
// an error matching ErrOpen, which carries no retry hint. Isolating an
// isolated breaker does nothing.
func (b *Breaker) Isolate() { b.force(Isolated, ReasonIsolate) }

// Disable makes the breaker let every call through, still recording
// outcomes, until Reset. Disabling a disabled breaker does nothing.
func (b *Breaker) Disable() { b.force(Disabled, ReasonDisable) }

// Reset closes the breaker and forgets everything it recorded; results of
// calls admitted before it are dropped. Resetting a closed breaker
// forgets, but reports no transition.
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
	b.ready()
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
		s.UntilHalfOpen = b.open.Load().left()
	}
	if s.State == HalfOpen {
		s.ProbesAdmitted, s.ProbeSuccesses, s.ProbeFailures = b.admitted, b.succeeded, b.failed
	}
	for o := range s.Totals {
		s.Totals[o] = b.calls.LoadAt(o)
	}
	return s
}

// Status returns the breaker's kind ("breaker"), name, state and calls
// by outcome since it was built, rejections included, and, while it is
// open, the time until it admits probes. Unlike Snapshot it takes no lock
// and leaves a zero Breaker unconfigured.
func (b *Breaker) Status() bulwark.Status {
	w := b.word.Load()
	s := bulwark.Status{
		Kind:      "breaker",
		State:     stateOf(w).String(),
		Successes: b.calls.LoadAt(int(outcome.Success)),
		Failures:  b.calls.LoadAt(int(outcome.Failure)),
		Ignored:   b.calls.LoadAt(int(outcome.Ignored)),
		Rejected:  b.calls.LoadAt(int(outcome.Rejected)),
	}
	if w&readyBit != 0 { // the configuration was published before the word
		s.Name = b.cfg.tel.Name
	}
	if stateOf(w) == Open {
		s.NextState = b.open.Load().left()
	}
	return s
}

// MetricState is the observable gauge of breaker states.
const MetricState = "bulwark.breaker.state"

// series is the attribute sets of the breaker's observable series, built
// at the first collection: without an SDK there is none, and a breaker
// does not carry them.
type series struct {
	calls  [4]metric.ObserveOption
	states [numStates]metric.ObserveOption
}

// observe registers the breaker's observable instruments, bulwark.calls by
// outcome and bulwark.breaker.state, through observe.Register, which holds
// the breaker weakly: a dropped breaker is collected and its callback
// unregistered.
func (b *Breaker) observe() {
	m := b.reporter.Meter()
	calls, err := m.Int64ObservableCounter(semconv.MetricCalls,
		metric.WithDescription("Calls through a bulwark policy, by outcome."),
		metric.WithUnit("{call}"))
	if err != nil {
		return
	}
	state, err := m.Int64ObservableGauge(MetricState,
		metric.WithDescription("State of a bulwark circuit breaker: 1 for the current state, 0 for the others."),
		metric.WithUnit("{state}"))
	if err != nil {
		return
	}
	observe.Register(m, b, func(b *Breaker, o metric.Observer) {
		sr := b.seriesOf()
		for i := range sr.calls {
			o.ObserveInt64(calls, b.calls.LoadAt(i), sr.calls[i])
		}
		cur := b.State()
		for s := range sr.states {
			var v int64
			if State(s) == cur {
				v = 1
			}
			o.ObserveInt64(state, v, sr.states[s])
		}
	}, calls, state)
}

func (b *Breaker) seriesOf() *series {
	if sr := b.series.Load(); sr != nil {
		return sr
	}
	sr := &series{}
	attrs := b.reporter.Attributes()
	for o := range sr.calls {
		sr.calls[o] = metric.WithAttributeSet(attribute.NewSet(append(attrs, semconv.AttrOutcome.String(outcome.Outcome(o).String()))...))
	}
	for s := range sr.states {
		sr.states[s] = metric.WithAttributeSet(attribute.NewSet(append(attrs, semconv.AttrState.String(State(s).String()))...))
	}
	b.series.CompareAndSwap(nil, sr)
	return b.series.Load()
}
