package hedge

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/budget"
	"github.com/bulwark-go/bulwark/internal/core"
	"github.com/bulwark-go/bulwark/internal/counter"
	"github.com/bulwark-go/bulwark/internal/observe"
	"github.com/bulwark-go/bulwark/internal/outcome"
	"github.com/bulwark-go/bulwark/internal/policyopt"
	"go.opentelemetry.io/otel/metric"
)

// A Hedge launches extra attempts of a slow call beside it: when the call
// has not answered after the delay (100ms by default, or a quantile of
// recent latencies with WithLatencyQuantile), another attempt starts, up
// to WithMaxHedges (1 by default), and a failure launches the next at
// once. The first success wins and the other attempts are cancelled
// through their contexts; Execute returns once every attempt has
// returned. Hedge only idempotent calls.
//
// Build a Hedge with New and share it. Most callers use Execute or
// bulwark.Get, or put the Hedge in a pipeline; Delay tells the delay the
// next call would wait, Status and Snapshot what the Hedge has counted.
//
// The zero Hedge works as New() with no options: unnamed, reporting
// through the global meter provider. A Hedge is safe for concurrent use by
// multiple goroutines. It keeps nothing per call but its latency tracker,
// and in each idle timer of its pool the function of the last call armed
// on it, until the next call, and the parent contexts of up to 16 recent
// calls through it (in the block their primaries' contexts came from),
// until the block is used up or the pool is dropped (within two
// collections).
type Hedge struct {
	delay     time.Duration
	maxHedges int      // 0 only in the zero Hedge
	latency   *latency // nil: fixed delay
	rules     outcome.Rules
	budget    budget.Budget
	// marked is nil without a budget; else the shared state of the
	// attempts of the calls it records, whose mark is the budget's
	// budget.Share.
	marked   *attemptState
	reporter core.Reporter
	name     string
	timers   sync.Pool // *hedgeTimer
	// counts holds the hedges launched, the calls that failed and the
	// budget's refusals (slotHedges ...), added beyond the common path of
	// a primary that answers in time only.
	counts counter.Striped
}

// The slots of Hedge.counts.
const (
	slotHedges = iota
	slotFailures
	slotRefused
)

var (
	_ bulwark.Stage       = (*Hedge)(nil)
	_ bulwark.Inspectable = (*Hedge)(nil)
)

// defaultHedge runs the calls of the zero Hedge, which count in the zero
// Hedge itself: it exports no bulwark.calls of its own, which would be an
// unnamed series that never moves.
var defaultHedge = sync.OnceValue(func() *Hedge { return build() })

// Option configures a Hedge.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	delay     time.Duration
	maxHedges int
	quantile  float64
	window    int
	floor     time.Duration
	rules     outcome.Rules
	budget    budget.Budget
	tel       policyopt.Telemetry
}

func panicf(option, format string, args ...any) {
	panic(fmt.Sprintf("bulwark/hedge: "+option+": "+format, args...))
}

// WithDelay launches a hedge after d without an answer. Default: 100ms.
// It panics if d <= 0.
func WithDelay(d time.Duration) Option {
	if d <= 0 {
		panicf("WithDelay", "delay must be > 0, got %v", d)
	}
	return optionFunc(func(c *config) { c.delay = d })
}

// WithMaxHedges is the number of extra attempts, each launched a delay
// after the one before. Default: 1. It panics if n < 1 or n > 10.
func WithMaxHedges(n int) Option {
	if n < 1 || n > 10 {
		panicf("WithMaxHedges", "n must be in [1, 10], got %d", n)
	}
	return optionFunc(func(c *config) { c.maxHedges = n })
}

// WithLatencyQuantile derives the delay from the latency of recent
// successful attempts: the q quantile (0.95 for p95) of the last window of
// them, but never less than floor; until window/4 latencies are known, the
// delay is floor. An attempt counts when it ends before the call is
// decided (the winner does) with an outcome that is a success under
// WithFailureIf and WithIgnoreIf: by default nil or a bulwark.Permanent
// answer. Failures are not recorded (a fast refusal says nothing of how
// long an answer takes), nor ignored outcomes. It reads the clock twice per
// attempt. Default: off (a fixed delay). It panics unless 0 < q < 1,
// 8 <= window <= 4096 and floor > 0.
func WithLatencyQuantile(q float64, window int, floor time.Duration) Option {
	if math.IsNaN(q) || q <= 0 || q >= 1 {
		panicf("WithLatencyQuantile", "q must be in (0, 1), got %v", q)
	}
	if window < 8 || window > 4096 {
		panicf("WithLatencyQuantile", "window must be in [8, 4096], got %d", window)
	}
	if floor <= 0 {
		panicf("WithLatencyQuantile", "floor must be > 0, got %v", floor)
	}
	return optionFunc(func(c *config) { c.quantile, c.window, c.floor = q, window, floor })
}

// WithBudget takes every hedge from b (budget.NewToken, budget.NewRatio),
// shared with retry policies: when it is spent, no more hedges are
// launched for the call. A call is one request for b however many policies
// drawing from it the call passes through (see the budget package); a hedge
// that loses to a successful attempt is not a failed attempt. Default: none.
// It panics if b is nil or not comparable.
func WithBudget(b budget.Budget) Option {
	if b == nil {
		panicf("WithBudget", "budget must not be nil")
	}
	if !reflect.TypeOf(b).Comparable() {
		panicf("WithBudget", "budget must be comparable (a pointer), got %T", b)
	}
	return optionFunc(func(c *config) { c.budget = b })
}

// WithFailureIf decides which errors the latency tracker
// (WithLatencyQuantile) takes for failures, whose latency it does not
// record; what it declines is a success. Default: every error not marked
// bulwark.Permanent, as in the outcome table in the bulwark package doc.
// It cannot make the caller's cancellation or a local rejection a failure,
// and it does not change when hedges are launched. It panics if pred is
// nil.
func WithFailureIf(pred func(err error) bool) Option {
	pred = outcome.FailureIf("hedge", pred)
	return optionFunc(func(c *config) { c.rules.FailureIf = pred })
}

// WithIgnoreIf takes the errors pred accepts out of the latency tracker's
// count: their latency is never recorded. Default: none beyond the
// caller's cancellation and local rejections, as in the outcome table in
// the bulwark package doc. It panics if pred is nil.
func WithIgnoreIf(pred func(err error) bool) Option {
	pred = outcome.IgnoreIf("hedge", pred)
	return optionFunc(func(c *config) { c.rules.IgnoreIf = pred })
}

// WithName names the policy in its events (bulwark.policy.name).
// Default: unnamed. It panics if name is empty.
func WithName(name string) Option {
	name = policyopt.Name("hedge", name)
	return optionFunc(func(c *config) { c.tel.Name = name })
}

// WithMeterProvider records the policy's events through mp. Default: the
// pipeline's provider if it has one, else the global one. It panics if mp
// is nil.
func WithMeterProvider(mp metric.MeterProvider) Option {
	mp = policyopt.MeterProvider("hedge", mp)
	return optionFunc(func(c *config) { c.tel.MeterProvider = mp })
}

// WithObserver adds an observer of the policy's events. Default: none. It
// panics if o is nil.
func WithObserver(o bulwark.Observer) Option {
	o = policyopt.Observer("hedge", o)
	return optionFunc(func(c *config) { c.tel.Observers = append(c.tel.Observers, o) })
}

// New returns a Hedge configured by opts. With no options it launches one
// hedge after 100ms without an answer. It panics, naming the option and
// the value, if the configuration is invalid.
func New(opts ...Option) *Hedge {
	h := build(opts...)
	observe.Calls(h.reporter, h, func(h *Hedge, _ outcome.Outcome) int64 { return h.counts.LoadAt(slotFailures) }, outcome.Failure)
	return h
}

// build returns the Hedge New returns, without its bulwark.calls.
func build(opts ...Option) *Hedge {
	c := config{delay: 100 * time.Millisecond, maxHedges: 1}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	h := &Hedge{
		delay:     c.delay,
		maxHedges: c.maxHedges,
		rules:     c.rules,
		budget:    c.budget,
		reporter:  c.tel.Reporter("hedge"),
		name:      c.tel.Name,
	}
	if c.budget != nil {
		h.marked = markedState(budget.NewShare(c.budget))
	}
	if c.quantile > 0 {
		h.latency = newLatency(c.quantile, c.window, c.floor)
	}
	return h
}

// Delay returns the delay the next call would wait before its first hedge.
func (h *Hedge) Delay() time.Duration {
	switch {
	case h.maxHedges == 0:
		return defaultHedge().Delay()
	case h.latency != nil:
		return h.latency.delay()
	}
	return h.delay
}

// Execute runs fn and, while it has not answered, up to the configured
// number of hedges of it; the first success wins and the other attempts
// are cancelled through their contexts. Execute returns once every attempt
// has returned. A panic in any attempt is raised again from Execute, with
// its value unchanged, once every attempt has returned.
func (h *Hedge) Execute(ctx context.Context, fn func(context.Context) error) error {
	return bulwark.RunStage(ctx, h, fn)
}

// ExecuteStage implements bulwark.Stage.
func (h *Hedge) ExecuteStage(ctx context.Context, next bulwark.Next) error {
	// The zero Hedge runs under New()'s configuration with its own timers
	// and counts: they are not shared with other zero Hedges.
	p, raise, err := h.conf().execute(ctx, next, h)
	if raise {
		// The primary panicked with a value that recover reports as nil
		// (panic(nil) under GODEBUG=panicnil=1), which stopped the panic:
		// it goes on, or the call's first panic if a hedge's came before.
		panic(p)
	}
	return err
}

// conf returns the Hedge whose configuration h's calls run under: h, or
// for the zero Hedge the one New() returns.
func (h *Hedge) conf() *Hedge {
	if h.maxHedges == 0 {
		return defaultHedge()
	}
	return h
}

// call is one Execute, kept on the caller's stack: a call answered before
// the delay allocates nothing but its share of a block of primaries'
// contexts.
type call struct {
	h       *Hedge // the configuration
	owner   *Hedge // whose timers and counts the call uses
	primary *attemptCtx
	next    bulwark.Next
	delay   time.Duration
	records bool        // this hedge records the call in its budget
	start   time.Time   // of the primary, with WithLatencyQuantile
	ht      *hedgeTimer // the first hedge's timer; nil once disarmed
	x       *hedging    // nil until the call goes beyond its primary
}

// execute runs the call under h's configuration, with the timers and the
// counts of owner, which is not h for the zero Hedge. If raise, the call
// panicked with a value recover reports as nil, and p is the panic the
// caller must raise.
func (h *Hedge) execute(ctx context.Context, next bulwark.Next, owner *Hedge) (p any, raise bool, err error) {
	var c call
	c.h, c.owner, c.next, c.delay = h, owner, next, h.delay
	if h.latency != nil {
		c.delay = h.latency.delay()
		c.start = time.Now()
	}
	// The timer and the primary's context are taken here rather than in
	// methods of c: a pointer written through *call is written with the
	// collector's write barrier, which costs a call answered in time more
	// than the rest of its bookkeeping while the collector marks.
	ht, _ := owner.timers.Get().(*hedgeTimer)
	if ht == nil || ht.used == len(ht.block) {
		ht = owner.renew(ht)
	}
	c.primary = &ht.block[ht.used]
	ht.used++
	c.primary.parent = ctx
	if h.marked != nil && !h.marked.mark.Recorded(ctx) {
		// The outermost policy drawing from the budget: the attempts'
		// contexts carry the mark that tells the policies inside.
		c.records = true
		c.primary.s.Store(h.marked)
		h.budget.RecordRequest()
	}
	ht.next, ht.delay = next, c.delay
	ht.t.Reset(c.delay)
	c.ht = ht
	// A primary that panics (or calls runtime.Goexit) must not leave the
	// timer armed nor a hedge running: the deferred abort stops the one,
	// cancels and awaits the others, then raises the call's first panic.
	// recover returns nil both during a Goexit, which goes on once the
	// deferred function returns, and for panic(nil) under
	// GODEBUG=panicnil=1, which it stops: then execute returns, and its
	// caller raises the panic, which it sees only in that case.
	returned := false
	defer func() {
		if !returned {
			v := recover()
			p, raise = c.abort(v), true
			if v != nil {
				panic(p)
			}
		}
	}()
	err = next.Run(c.primary)
	c.ht = nil
	if ht.t.Stop() {
		owner.timers.Put(ht)
	} else {
		c.x = ht.hedging()
	}
	c.primary.release()
	if c.x == nil && err == nil && h.marked == nil && h.latency == nil {
		// The common case: answered before the delay, with nothing to
		// learn or record.
		returned = true
		return nil, false, nil
	}
	err = c.afterPrimary(err)
	returned = true
	return nil, false, err
}

// hedgeTimer is a pooled timer and what its callback needs to launch the
// first hedge of the call it is armed for. Those fields are written before
// the timer is reset, which orders them before the callback; a timer whose
// Stop reports that it fired is never reused, so they are not written while
// a callback may read them, and no call pays a locked instruction for it.
type hedgeTimer struct {
	t     *time.Timer
	owner *Hedge // the Hedge whose pool holds it
	// block holds the primaries' contexts of the calls that take the
	// timer, each used once; the call armed on it has block[used-1].
	block *primaries
	used  int
	next  bulwark.Next
	delay time.Duration
	x     atomic.Pointer[hedging] // once it fired: made by the callback or the caller
}

// primaries is a block of primary attempts' contexts, allocated at once
// and handed out one per call by the timer that holds it, which a call
// holds alone: a call answered before the delay pays a sixteenth of an
// allocation of 384 bytes, where an allocation of its own (24 bytes) costs
// nearly half as much as arming and stopping the timer. Each context serves
// one call only, so that one kept past its call still answers as its own;
// it keeps the block reachable then, and with it the parent contexts of
// up to 15 other calls, which is why the block is no larger.
type primaries [16]attemptCtx

func (ht *hedgeTimer) fire() { ht.hedging().launch() }

func (ht *hedgeTimer) primary() *attemptCtx { return &ht.block[ht.used-1] }

// hedging returns the hedging state of the call the timer fired for, made
// by whichever of the callback and the caller asks first.
func (ht *hedgeTimer) hedging() *hedging {
	if x := ht.x.Load(); x != nil {
		return x
	}
	x := newHedging(ht.owner, ht.primary(), ht.next, ht.delay)
	if ht.x.CompareAndSwap(nil, x) {
		return x
	}
	return ht.x.Load()
}

// renew returns ht with a new block of primaries' contexts, or if ht is
// nil (the pool had none) a new timer, stopped, with one.
func (h *Hedge) renew(ht *hedgeTimer) *hedgeTimer {
	if ht == nil {
		ht = &hedgeTimer{owner: h}
		ht.t = time.AfterFunc(time.Hour, ht.fire)
		ht.t.Stop()
	}
	ht.block, ht.used = new(primaries), 0
	return ht
}

// disarm stops the first hedge's timer, once. If it had fired, its
// callback runs or has run, a hedge may be running, and c.x is set to the
// state the callback shares. A timer that did not fire goes back to the
// pool with the call's function, which the next call through it
// overwrites: clearing it costs every call two pointer writes, each a
// write barrier while the collector marks, and an idle pool is dropped
// within two collections anyway.
func (c *call) disarm() {
	ht := c.ht
	if ht == nil {
		return
	}
	c.ht = nil
	if !ht.t.Stop() {
		c.x = ht.hedging()
		return
	}
	c.owner.timers.Put(ht)
}

// hedging returns c.x, made if need be. It is called once the timer is
// disarmed: no callback shares it then but the one that fired, which made
// or shares c.x already.
func (c *call) hedging() *hedging {
	if c.x == nil {
		c.x = newHedging(c.owner, c.primary, c.next, c.delay)
	}
	return c.x
}

// afterPrimary returns the call's result once the primary attempt,
// which ran on the caller's goroutine, has returned err and the timer is
// disarmed.
func (c *call) afterPrimary(err error) error {
	if x := c.x; x != nil {
		x.finish(nil, err, c.start)
		return x.wait()
	}
	// The hedge never fired: nothing else runs, so no lock.
	h := c.h
	kind := kindOf(c.primary.parent, err)
	h.learn(c.primary.parent, err, c.start)
	if c.records {
		h.record(kind)
	}
	if kind != failed {
		return err
	}
	// A failure before the delay launches the next hedge at once.
	x := c.hedging()
	x.mu.Lock()
	x.primaryDone = true
	x.errs = append(x.errs, err)
	x.mu.Unlock()
	x.launch()
	return x.wait()
}

// abort ends a call whose primary panicked with p, or called
// runtime.Goexit (p is nil then, as for panic(nil) under
// GODEBUG=panicnil=1), or which is raising a hedge's panic: the timer is
// stopped, every hedge is cancelled and awaited. It returns the call's
// first panic, which may be a hedge's that made the primary panic as it
// was cancelled; the caller raises it unless the primary called Goexit.
func (c *call) abort(p any) any {
	c.disarm()
	c.primary.release()
	x := c.hedging()
	x.mu.Lock()
	x.primaryDone = true
	if !x.panicked {
		x.panicked, x.panicVal = true, p
	}
	if !x.decided {
		x.decideLocked(nil)
	}
	x.mu.Unlock()
	x.await()
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.panicVal
}

// hedging is the state of a call beyond a primary that answers before the
// delay, shared by the caller, the timers' callbacks and the hedges'
// goroutines; it is made when a hedge is first asked for or an attempt
// fails or panics.
type hedging struct {
	h       *Hedge // the configuration
	owner   *Hedge // whose counts the call uses
	primary *attemptCtx
	next    bulwark.Next
	delay   time.Duration
	records bool // this hedge records the call in its budget

	mu          sync.Mutex
	primaryDone bool  // the primary attempt has returned, or panicked
	decided     bool  // a winner, a final error or a panic is known
	refused     bool  // the budget refused a hedge: no more are asked for
	panicked    bool  // an attempt panicked: panicVal is the first panic
	running     int32 // hedges running, and launches and their reports in progress
	launching   int32 // launches between their reservation and their start
	result      error
	attempts    []*attemptCtx // hedges launched
	errs        []error       // failures and rejections, in the order they came
	timer       *time.Timer   // the next hedge's, after the first
	panicVal    any
	done        chan struct{} // closed once decided and nothing runs
}

// newHedging returns the hedging state of a call. The call is one the
// hedge records when its primary's context carries the budget's mark,
// which it keeps once it is made cancellable.
func newHedging(owner *Hedge, primary *attemptCtx, next bulwark.Next, delay time.Duration) *hedging {
	s := primary.s.Load()
	return &hedging{h: owner.conf(), owner: owner, primary: primary, next: next, delay: delay,
		records: s != nil && s.mark != nil}
}

// ctx is the caller's context.
func (x *hedging) ctx() context.Context { return x.primary.parent }

// outcomeKind is what an attempt's error means to the hedge.
type outcomeKind uint8

const (
	won      outcomeKind = iota // nil: the call is decided
	final                       // Permanent, or the caller has gone: decided
	rejected                    // a local rejection: neither decides nor launches
	failed                      // any other error: the next hedge starts at once
)

// kindOf returns what err, an attempt's error in a call under ctx, means.
func kindOf(ctx context.Context, err error) outcomeKind {
	switch {
	case err == nil:
		return won
	case bulwark.IsPermanent(err) || outcome.IsNoRetry(err) || ctx.Err() != nil:
		return final
	case errors.Is(err, bulwark.ErrRejected):
		return rejected
	}
	return failed
}

// learn records an attempt's latency when its outcome is a success under
// the hedge's rules.
func (h *Hedge) learn(ctx context.Context, err error, start time.Time) {
	if h.latency != nil && h.rules.Classify(ctx, err) == outcome.Success {
		h.latency.record(time.Since(start))
	}
}

// record tells the budget an attempt's outcome, for a call this hedge
// records: only successes and failures are outcomes of the dependency.
// It is called without a lock: the budget is the user's code.
func (h *Hedge) record(k outcomeKind) {
	switch k {
	case won:
		h.budget.RecordAttempt(true)
	case failed:
		h.budget.RecordAttempt(false)
	}
}

// panicLocked makes p, a panic recovered off the caller's goroutine, the
// call's (the first one only): every attempt is cancelled, and the caller
// raises it once they have returned. It requires x.mu held.
func (x *hedging) panicLocked(p any) {
	if !x.panicked {
		x.panicked, x.panicVal = true, p
	}
	if !x.decided {
		x.decideLocked(nil)
	}
}

// launch starts the next hedge if any remains, the call is undecided and
// the budget allows, and arms the timer for the one after it. It is called
// without x.mu, which it does not hold while it asks the budget or reports
// a refusal: both are the user's code. Meanwhile the launch counts as a
// running attempt, so the call cannot settle before it is done.
func (x *hedging) launch() {
	h := x.h
	x.mu.Lock()
	if x.decided || x.refused || len(x.attempts)+int(x.launching) >= h.maxHedges {
		x.mu.Unlock()
		return
	}
	x.launching++
	x.running++
	n := len(x.attempts) + int(x.launching) + 1 // the primary is attempt 1
	x.mu.Unlock()
	ended := false
	defer func() {
		if !ended {
			// A runtime.Goexit in the budget or an observer: it ends
			// its goroutine alone.
			x.unreserve(nil, false)
		}
	}()
	allowed, p, panicked := x.ask(n)
	ended = true
	if panicked {
		x.unreserve(p, true)
		return
	}
	x.mu.Lock()
	x.launching--
	if !allowed || x.decided {
		x.refused = x.refused || !allowed
		x.running--
		x.settleLocked()
		x.mu.Unlock()
		return
	}
	a := &attemptCtx{parent: x.ctx()}
	if x.records {
		a.s.Store(x.h.marked)
	}
	x.attempts = append(x.attempts, a)
	n = len(x.attempts) + 1
	if len(x.attempts)+int(x.launching) < h.maxHedges {
		if x.timer != nil {
			x.timer.Stop()
		}
		x.timer = time.AfterFunc(x.delay, x.launch)
	}
	x.mu.Unlock()
	x.owner.counts.AddAt(slotHedges, 1)
	go x.runHedge(a, n) // it inherits the running slot
}

// ask asks the budget for the hedge numbered n and reports a refusal. A
// panic there, in the budget or an observer, is recovered and returned: it
// may run on the timer's goroutine. recover reports nil both for a
// runtime.Goexit, which goes on, and for panic(nil) under
// GODEBUG=panicnil=1, which it stops: ask returns only in the second case.
func (x *hedging) ask(n int) (allowed bool, p any, panicked bool) {
	defer func() {
		if panicked {
			p = recover()
		}
	}()
	panicked = true
	h := x.h
	allowed = h.budget == nil || h.budget.TryRetry()
	if !allowed {
		x.owner.counts.AddAt(slotRefused, 1)
		if h.reporter.Listening(x.ctx(), x.next) {
			h.reporter.Report(x.ctx(), x.next, bulwark.Event{Type: bulwark.EventBudgetExceeded, Attempt: n})
		}
	}
	return allowed, nil, false
}

// unreserve releases the slot of a launch that panicked with p (if
// panicked) or called runtime.Goexit. A panic is the call's, raised by the
// caller; it is recorded with the slot's release, under one lock, so that
// the call cannot settle without it.
func (x *hedging) unreserve(p any, panicked bool) {
	x.mu.Lock()
	x.launching--
	x.running--
	if panicked {
		x.panicLocked(p)
	}
	x.settleLocked()
	x.mu.Unlock()
}

// runHedge runs a hedge on its own goroutine. A panic there, in the
// attempt or in an observer, becomes the call's, raised by the caller; a
// runtime.Goexit ends the attempt alone and decides nothing.
func (x *hedging) runHedge(a *attemptCtx, n int) {
	ended := false
	defer func() {
		if !ended {
			x.abandon(a, nil, false) // a runtime.Goexit
		}
	}()
	p, panicked := x.attempt(a, n)
	ended = true
	if panicked {
		x.abandon(a, p, true)
	}
}

// attempt reports the hedge numbered n, runs it with a and records its
// outcome. A panic there, in the attempt, an observer, the budget or the
// rules, is recovered and returned; recover reports nil both for a
// runtime.Goexit, which goes on, and for panic(nil) under
// GODEBUG=panicnil=1, which it stops: attempt returns only in the second
// case.
func (x *hedging) attempt(a *attemptCtx, n int) (p any, panicked bool) {
	defer func() {
		if panicked {
			p = recover()
		}
	}()
	panicked = true
	h := x.h
	if h.reporter.Listening(x.ctx(), x.next) {
		h.reporter.Report(x.ctx(), x.next, bulwark.Event{Type: bulwark.EventHedge, Attempt: n, Delay: x.delay})
	}
	var start time.Time
	if h.latency != nil {
		start = time.Now()
	}
	err := x.next.Run(a)
	a.release()
	x.finish(a, err, start)
	return nil, false
}

// abandon releases the running slot of a hedge that panicked with p (if
// panicked) or called runtime.Goexit.
func (x *hedging) abandon(a *attemptCtx, p any, panicked bool) {
	a.release()
	x.mu.Lock()
	x.running--
	if panicked {
		x.panicLocked(p)
	}
	x.settleLocked()
	x.mu.Unlock()
}

// finish records the outcome of an attempt (a; nil for the primary) that
// returned after the hedge fired, and releases its running slot (the
// primary's: primaryDone) once the budget is told and the next hedge, if
// one follows, is launched.
func (x *hedging) finish(a *attemptCtx, err error, start time.Time) {
	k := kindOf(x.ctx(), err)
	x.mu.Lock()
	live := !x.decided // else a loser, cancelled: not an outcome to learn from
	if live {
		switch k {
		case won, final:
			x.decideLocked(err)
		case rejected, failed:
			x.errs = append(x.errs, err)
			if k == failed && x.timer != nil {
				x.timer.Stop()
			}
		}
	}
	x.mu.Unlock()
	if live {
		x.h.learn(x.ctx(), err, start)
		if x.records {
			x.h.record(k)
		}
		if k == failed {
			x.launch() // a failure launches the next hedge at once
		}
	}
	x.mu.Lock()
	if a == nil {
		x.primaryDone = true
	} else {
		x.running--
	}
	x.settleLocked()
	x.mu.Unlock()
}

// settleLocked decides a call whose attempts all failed once nothing runs
// (a hedge whose timer is pending is not awaited: nothing is in flight),
// and wakes the caller once the call is decided and every attempt has
// returned. It requires x.mu held.
func (x *hedging) settleLocked() {
	if x.running > 0 || !x.primaryDone {
		return
	}
	if !x.decided {
		err, failed := x.failureLocked()
		if failed {
			x.owner.counts.AddAt(slotFailures, 1)
		}
		x.decideLocked(err)
	}
	if x.done != nil {
		close(x.done)
		x.done = nil
	}
}

// failureLocked returns the result of a call whose attempts all failed:
// the dependency's failures joined, or the rejections when there is no
// failure, so that a policy outside sees a failure and not a rejection
// when the dependency was asked; failed reports which. It requires x.mu
// held.
func (x *hedging) failureLocked() (err error, failed bool) {
	var failures []error
	for _, err := range x.errs {
		if !errors.Is(err, bulwark.ErrRejected) {
			failures = append(failures, err)
		}
	}
	failed = len(failures) > 0
	if !failed {
		failures = x.errs
	}
	if len(failures) == 1 {
		return failures[0], failed
	}
	return errors.Join(failures...), failed
}

// decideLocked settles the call's result and cancels the attempts still
// running. It requires x.mu held.
func (x *hedging) decideLocked(err error) {
	x.decided = true
	x.result = err
	x.primary.cancel()
	if x.timer != nil {
		x.timer.Stop()
	}
	for _, a := range x.attempts {
		a.cancel()
	}
}

// await returns once every hedge has returned. It requires primaryDone.
func (x *hedging) await() {
	x.mu.Lock()
	if x.running == 0 {
		x.mu.Unlock()
		return
	}
	done := make(chan struct{})
	x.done = done
	x.mu.Unlock()
	<-done
}

// wait returns the call's result once every attempt has returned, or
// raises the panic of one.
func (x *hedging) wait() error {
	x.await()
	x.mu.Lock()
	panicked, err, p := x.panicked, x.result, x.panicVal
	x.mu.Unlock()
	if panicked {
		panic(p)
	}
	return err
}
