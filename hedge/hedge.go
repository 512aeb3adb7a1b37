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
// multiple goroutines and keeps nothing per call but its latency tracker.
type Hedge struct {
	delay     time.Duration
	maxHedges int      // 0 only in the zero Hedge
	latency   *latency // nil: fixed delay
	rules     outcome.Rules
	budget    budget.Budget
	share     *budget.Share // nil without a budget
	reporter  core.Reporter
	name      string
	timers    sync.Pool // *hedgeTimer
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
		h.share = budget.NewShare(c.budget)
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
	if h.maxHedges == 0 {
		// New()'s configuration, with the zero Hedge's own timers and
		// counts: they are not shared with other zero Hedges.
		return defaultHedge().execute(ctx, next, h)
	}
	return h.execute(ctx, next, h)
}

// execute runs the call under h's configuration, with the timers and the
// counts of owner, which is not h for the zero Hedge.
func (h *Hedge) execute(ctx context.Context, next bulwark.Next, owner *Hedge) error {
	c := &call{h: h, owner: owner, ctx: ctx, next: next, delay: h.Delay()}
	c.primary.parent = ctx
	if h.share != nil && !h.share.Recorded(ctx) {
		// The outermost policy drawing from the budget: the attempts'
		// contexts carry the mark that tells the policies inside.
		c.records = true
		c.primary.mark = h.share
		h.budget.RecordRequest()
	}
	var start time.Time
	if h.latency != nil {
		start = time.Now()
	}
	ht := arm(&owner.timers, c)
	// A primary that panics (or calls runtime.Goexit) must not leave the
	// timer armed nor a hedge running: the deferred abort stops the one,
	// cancels and awaits the others, then raises the call's first panic
	// (a Goexit goes on by itself).
	returned := false
	defer func() {
		if !returned {
			if p, ok := c.abort(&ht, recover()); ok {
				panic(p)
			}
		}
	}()
	err := c.runPrimary(&ht, start)
	returned = true
	return err
}

// hedgeTimer is a pooled timer and the call it is armed for.
type hedgeTimer struct {
	t    *time.Timer
	c    atomic.Pointer[call]
	pool *sync.Pool // the one it comes from
}

func (ht *hedgeTimer) fire() {
	if c := ht.c.Swap(nil); c != nil {
		c.onTimer()
	}
}

// arm takes a timer from the pool and arms it for c's first hedge.
func arm(pool *sync.Pool, c *call) *hedgeTimer {
	ht, _ := pool.Get().(*hedgeTimer)
	if ht == nil {
		ht = &hedgeTimer{pool: pool}
		ht.c.Store(c)
		ht.t = time.AfterFunc(c.delay, ht.fire)
		return ht
	}
	ht.c.Store(c)
	ht.t.Reset(c.delay)
	return ht
}

// call is one Execute with hedges.
type call struct {
	h       *Hedge // the configuration
	owner   *Hedge // whose timers and counts the call uses
	ctx     context.Context
	next    bulwark.Next
	delay   time.Duration
	primary attemptCtx

	mu          sync.Mutex
	records     bool  // this hedge records the call in its budget; set before any attempt
	primaryDone bool  // the primary attempt has returned, or panicked
	decided     bool  // a winner, a final error or a panic is known
	refused     bool  // the budget refused a hedge: no more are asked for
	panicked    bool  // an attempt panicked: x.panicVal is the first panic
	running     int32 // hedges running, and launches and their reports in progress
	launching   int32 // launches between their reservation and their start
	result      error
	x           *hedging      // nil until the call goes beyond a primary that answers
	done        chan struct{} // closed once decided and nothing runs
}

// hedging is the state of a call beyond its primary attempt, made when a
// hedge is first asked for or an attempt fails or panics: a call answered
// before the delay, the common case, never needs it.
type hedging struct {
	attempts []*attemptCtx // hedges launched
	errs     []error       // failures and rejections, in the order they came
	timer    *time.Timer   // the next hedge's, after the first
	panicVal any
}

// xLocked returns c.x, made if need be. It requires c.mu held.
func (c *call) xLocked() *hedging {
	if c.x == nil {
		c.x = &hedging{}
	}
	return c.x
}

// hedgesLocked returns the number of hedges launched. It requires c.mu
// held.
func (c *call) hedgesLocked() int {
	if c.x == nil {
		return 0
	}
	return len(c.x.attempts)
}

// disarm stops the first hedge's timer *pht, once (it sets *pht to nil),
// and reports whether it fired for c: then a hedge may be running.
func (c *call) disarm(pht **hedgeTimer) (fired bool) {
	ht := *pht
	if ht == nil {
		return true
	}
	*pht = nil
	if ht.c.CompareAndSwap(c, nil) {
		// A timer that fired all the same (its callback lost the race
		// above) is not reused: its late callback could find the next
		// call armed on it.
		if ht.t.Stop() {
			ht.pool.Put(ht)
		}
		return false
	}
	ht.pool.Put(ht)
	return true
}

// runPrimary runs the primary attempt on the caller's goroutine and
// returns the call's result.
func (c *call) runPrimary(ht **hedgeTimer, start time.Time) error {
	err := c.next.Run(&c.primary)
	fired := c.disarm(ht)
	c.primary.release()
	if fired {
		c.finish(&c.primary, err, start)
		return c.wait()
	}
	// The hedge never fired: the common case, with no goroutine, channel
	// or cancellable context, and nothing else running, so no lock.
	kind := c.kind(err)
	c.learn(err, start)
	if c.records {
		c.record(kind)
	}
	if kind != failed {
		return err
	}
	// A failure before the delay launches the next hedge at once.
	c.mu.Lock()
	c.primaryDone = true
	c.xLocked().errs = append(c.xLocked().errs, err)
	c.mu.Unlock()
	c.launch()
	return c.wait()
}

// abort ends a call whose primary panicked with p (nil: it called
// runtime.Goexit) or which is raising a hedge's panic: the timer is
// stopped, every hedge is cancelled and awaited. For a panic, it returns
// the call's first, which may be a hedge's that made the primary panic as
// it was cancelled, and true.
func (c *call) abort(ht **hedgeTimer, p any) (any, bool) {
	c.disarm(ht)
	c.primary.release()
	c.mu.Lock()
	c.primaryDone = true
	if p != nil && !c.panicked {
		c.panicked, c.xLocked().panicVal = true, p
	}
	if !c.decided {
		c.decideLocked(nil)
	}
	c.mu.Unlock()
	c.await()
	if p == nil {
		return nil, false // a Goexit is not turned into a panic
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.x.panicVal, true
}

// outcomeKind is what an attempt's error means to the hedge.
type outcomeKind uint8

const (
	won      outcomeKind = iota // nil: the call is decided
	final                       // Permanent, or the caller has gone: decided
	rejected                    // a local rejection: neither decides nor launches
	failed                      // any other error: the next hedge starts at once
)

func (c *call) kind(err error) outcomeKind {
	switch {
	case err == nil:
		return won
	case bulwark.IsPermanent(err) || outcome.IsNoRetry(err) || c.ctx.Err() != nil:
		return final
	case errors.Is(err, bulwark.ErrRejected):
		return rejected
	}
	return failed
}

// learn records an attempt's latency when its outcome is a success under
// the hedge's rules.
func (c *call) learn(err error, start time.Time) {
	if c.h.latency != nil && c.h.rules.Classify(c.ctx, err) == outcome.Success {
		c.h.latency.record(time.Since(start))
	}
}

// record tells the budget an attempt's outcome, for a call this hedge
// records: only successes and failures are outcomes of the dependency.
// It is called without c.mu: the budget is the user's code.
func (c *call) record(k outcomeKind) {
	switch k {
	case won:
		c.h.budget.RecordAttempt(true)
	case failed:
		c.h.budget.RecordAttempt(false)
	}
}

// onTimer launches the next hedge when the delay passes without an answer.
func (c *call) onTimer() { c.launch() }

// panicLocked makes p, a panic recovered off the caller's goroutine, the
// call's (the first one only): every attempt is cancelled, and the caller
// raises it once they have returned. A nil p is a runtime.Goexit, which
// ends only its goroutine and decides nothing. It requires c.mu held.
func (c *call) panicLocked(p any) {
	if p == nil {
		return
	}
	if !c.panicked {
		c.panicked, c.xLocked().panicVal = true, p
	}
	if !c.decided {
		c.decideLocked(nil)
	}
}

// launch starts the next hedge if any remains, the call is undecided and
// the budget allows, and arms the timer for the one after it. It is called
// without c.mu, which it does not hold while it asks the budget or reports
// a refusal: both are the user's code. Meanwhile the launch counts as a
// running attempt, so the call cannot settle before it is done.
func (c *call) launch() {
	c.mu.Lock()
	if c.decided || c.refused || c.hedgesLocked()+int(c.launching) >= c.h.maxHedges {
		c.mu.Unlock()
		return
	}
	c.launching++
	c.running++
	n := c.hedgesLocked() + int(c.launching) + 1 // the primary is attempt 1
	c.mu.Unlock()
	done := false
	defer func() {
		if !done {
			// The budget or an observer panicked, maybe on the timer's
			// goroutine: the panic is the call's, raised by the caller.
			// It is recorded with the slot's release, under one lock, so
			// that the call cannot settle without it.
			p := recover()
			c.mu.Lock()
			c.launching--
			c.running--
			c.panicLocked(p)
			c.settleLocked()
			c.mu.Unlock()
		}
	}()
	allowed := c.h.budget == nil || c.h.budget.TryRetry()
	if !allowed {
		c.owner.counts.AddAt(slotRefused, 1)
		if c.h.reporter.Listening(c.ctx, c.next) {
			c.h.reporter.Report(c.ctx, c.next, bulwark.Event{Type: bulwark.EventBudgetExceeded, Attempt: n})
		}
	}
	c.mu.Lock()
	done = true
	c.launching--
	if !allowed || c.decided {
		c.refused = c.refused || !allowed
		c.running--
		c.settleLocked()
		c.mu.Unlock()
		return
	}
	a := &attemptCtx{parent: c.ctx, mark: c.primary.mark}
	x := c.xLocked()
	x.attempts = append(x.attempts, a)
	n = len(x.attempts) + 1
	if len(x.attempts)+int(c.launching) < c.h.maxHedges {
		if x.timer != nil {
			x.timer.Stop()
		}
		x.timer = time.AfterFunc(c.delay, c.onTimer)
	}
	c.mu.Unlock()
	c.owner.counts.AddAt(slotHedges, 1)
	go c.runHedge(a, n) // it inherits the running slot
}

// runHedge runs a hedge on its own goroutine. A panic there, in the
// attempt or in an observer, becomes the call's, raised by the caller.
func (c *call) runHedge(a *attemptCtx, n int) {
	var start time.Time
	ok := false
	defer func() {
		if !ok {
			p := recover()
			a.release()
			c.mu.Lock()
			c.running--
			c.panicLocked(p)
			c.settleLocked()
			c.mu.Unlock()
		}
	}()
	if c.h.reporter.Listening(c.ctx, c.next) {
		c.h.reporter.Report(c.ctx, c.next, bulwark.Event{Type: bulwark.EventHedge, Attempt: n, Delay: c.delay})
	}
	if c.h.latency != nil {
		start = time.Now()
	}
	err := c.next.Run(a)
	a.release()
	c.finish(a, err, start)
	ok = true
}

// finish records the outcome of an attempt that returned after the hedge
// fired, and releases its running slot (the primary's: primaryDone) once
// the budget is told and the next hedge, if one follows, is launched.
func (c *call) finish(a *attemptCtx, err error, start time.Time) {
	k := c.kind(err)
	c.mu.Lock()
	live := !c.decided // else a loser, cancelled: not an outcome to learn from
	if live {
		switch k {
		case won, final:
			c.decideLocked(err)
		case rejected, failed:
			x := c.xLocked()
			x.errs = append(x.errs, err)
			if k == failed && x.timer != nil {
				x.timer.Stop()
			}
		}
	}
	c.mu.Unlock()
	if live {
		c.learn(err, start)
		if c.records {
			c.record(k)
		}
		if k == failed {
			c.launch() // a failure launches the next hedge at once
		}
	}
	c.mu.Lock()
	if a == &c.primary {
		c.primaryDone = true
	} else {
		c.running--
	}
	c.settleLocked()
	c.mu.Unlock()
}

// settleLocked decides a call whose attempts all failed once nothing runs
// (a hedge whose timer is pending is not awaited: nothing is in flight),
// and wakes the caller once the call is decided and every attempt has
// returned. It requires c.mu held.
func (c *call) settleLocked() {
	if c.running > 0 || !c.primaryDone {
		return
	}
	if !c.decided {
		err, failed := c.failureLocked()
		if failed {
			c.owner.counts.AddAt(slotFailures, 1)
		}
		c.decideLocked(err)
	}
	if c.done != nil {
		close(c.done)
		c.done = nil
	}
}

// failureLocked returns the result of a call whose attempts all failed:
// the dependency's failures joined, or the rejections when there is no
// failure, so that a policy outside sees a failure and not a rejection
// when the dependency was asked; failed reports which. It requires c.mu
// held.
func (c *call) failureLocked() (err error, failed bool) {
	var failures []error
	errs := c.xLocked().errs
	for _, err := range errs {
		if !errors.Is(err, bulwark.ErrRejected) {
			failures = append(failures, err)
		}
	}
	failed = len(failures) > 0
	if !failed {
		failures = errs
	}
	if len(failures) == 1 {
		return failures[0], failed
	}
	return errors.Join(failures...), failed
}

// decideLocked settles the call's result and cancels the attempts still
// running. It requires c.mu held.
func (c *call) decideLocked(err error) {
	c.decided = true
	c.result = err
	c.primary.cancel()
	if x := c.x; x != nil {
		if x.timer != nil {
			x.timer.Stop()
		}
		for _, a := range x.attempts {
			a.cancel()
		}
	}
}

// await returns once every hedge has returned. It requires primaryDone.
func (c *call) await() {
	c.mu.Lock()
	if c.running == 0 {
		c.mu.Unlock()
		return
	}
	done := make(chan struct{})
	c.done = done
	c.mu.Unlock()
	<-done
}

// wait returns the call's result once every attempt has returned, or
// raises the panic of one.
func (c *call) wait() error {
	c.await()
	c.mu.Lock()
	panicked, err := c.panicked, c.result
	var p any
	if panicked {
		p = c.x.panicVal
	}
	c.mu.Unlock()
	if panicked {
		panic(p)
	}
	return err
}
