package hedge

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/policyopt"
	"go.opentelemetry.io/otel/metric"
)

// Budget is the part of a retry budget (retry.Budget, which satisfies it)
// that hedging uses: each hedge is taken from the budget like a retry.
type Budget interface {
	RecordAttempt(success bool)
	RecordRequest()
	TryRetry() bool
}

// Hedge launches extra attempts beside a slow one. See the package
// documentation.
type Hedge struct {
	delay     time.Duration
	maxHedges int
	latency   *latency // nil: fixed delay
	budget    Budget
	reporter  *bulwark.Reporter
	timers    sync.Pool // *hedgeTimer
}

var _ bulwark.Stage = (*Hedge)(nil)

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
	budget    Budget
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
// delay is floor. It reads the clock twice per call. Default: off (a fixed
// delay). It panics unless 0 < q < 1, 8 <= window <= 4096 and floor > 0.
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

// WithBudget takes every hedge from b, a retry budget shared with retry
// policies (retry.NewTokenBudget, retry.NewRatioBudget): when it is spent,
// no hedge is launched. Default: none. It panics if b is nil.
func WithBudget(b Budget) Option {
	if b == nil {
		panicf("WithBudget", "budget must not be nil")
	}
	return optionFunc(func(c *config) { c.budget = b })
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
	c := config{delay: 100 * time.Millisecond, maxHedges: 1}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	h := &Hedge{
		delay:     c.delay,
		maxHedges: c.maxHedges,
		budget:    c.budget,
		reporter:  c.tel.Reporter("hedge"),
	}
	if c.quantile > 0 {
		h.latency = newLatency(c.quantile, c.window, c.floor)
	}
	return h
}

// Delay returns the delay the next call would wait before its first hedge.
func (h *Hedge) Delay() time.Duration {
	if h.latency != nil {
		return h.latency.delay()
	}
	return h.delay
}

// Execute runs fn and, while it has not answered, up to the configured
// number of hedges of it; the first success wins and the other attempts
// are cancelled through their contexts. Execute returns once every attempt
// has returned.
func (h *Hedge) Execute(ctx context.Context, fn func(context.Context) error) error {
	return bulwark.RunStage(ctx, h, fn)
}

// ExecuteStage implements bulwark.Stage.
func (h *Hedge) ExecuteStage(ctx context.Context, next bulwark.Next) error {
	if h.budget != nil {
		h.budget.RecordRequest()
	}
	c := &call{h: h, ctx: ctx, next: next, delay: h.Delay()}
	c.primary.parent = ctx
	var start time.Time
	if h.latency != nil {
		start = time.Now()
	}
	ht := h.arm(c)
	err := next.Run(&c.primary)
	if ht.c.CompareAndSwap(c, nil) {
		// The hedge never fired: the common case, with no goroutine,
		// channel or cancellable context. A timer that fired all the same
		// (its callback lost the race above) is not reused: its late
		// callback could find the next call armed on it.
		if ht.t.Stop() {
			h.timers.Put(ht)
		}
		c.primary.release()
		if err == nil {
			if h.latency != nil {
				h.latency.record(time.Since(start))
			}
			if h.budget != nil {
				h.budget.RecordAttempt(true)
			}
			return nil
		}
		if h.budget != nil {
			h.budget.RecordAttempt(false)
		}
		if c.terminal(err) {
			return err
		}
		// A failure before the delay launches the next hedge at once.
		c.mu.Lock()
		c.primaryDone = true
		c.errs = append(c.errs, err)
		c.reportRefusedLocked(c.launchLocked())
		c.settleLocked()
		c.mu.Unlock()
		return c.wait()
	}
	// The timer fired: hedges may be running.
	h.timers.Put(ht)
	if err == nil && h.latency != nil {
		h.latency.record(time.Since(start))
	}
	c.finish(&c.primary, err)
	return c.wait()
}

// hedgeTimer is a pooled timer and the call it is armed for.
type hedgeTimer struct {
	t *time.Timer
	c atomic.Pointer[call]
}

func (ht *hedgeTimer) fire() {
	if c := ht.c.Swap(nil); c != nil {
		c.onTimer()
	}
}

// arm takes a timer from the pool and arms it for c's first hedge.
func (h *Hedge) arm(c *call) *hedgeTimer {
	ht, _ := h.timers.Get().(*hedgeTimer)
	if ht == nil {
		ht = &hedgeTimer{}
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
	h       *Hedge
	ctx     context.Context
	next    bulwark.Next
	delay   time.Duration
	primary attemptCtx

	mu          sync.Mutex
	attempts    []*attemptCtx // hedges launched
	running     int           // hedges running
	primaryDone bool          // the primary attempt has returned
	decided     bool          // a winner or a terminal failure is known
	result      error
	errs        []error // failures so far, in the order they came
	timer       *time.Timer
	done        chan struct{} // closed when decided and nothing runs
}

// terminal reports whether err ends hedging at once: a success, a
// permanent error, or the caller's own cancellation.
func (c *call) terminal(err error) bool {
	return err == nil || bulwark.IsPermanent(err) || c.ctx.Err() != nil
}

// onTimer launches the next hedge when the delay passes without an answer.
func (c *call) onTimer() {
	c.mu.Lock()
	if !c.decided {
		c.reportRefusedLocked(c.launchLocked())
		c.settleLocked()
	}
	c.mu.Unlock()
}

// launchLocked starts the next hedge if any remain and the budget allows,
// and arms the timer for the one after it. It returns the number of the
// attempt the budget refused, 0 if none; the caller reports it once the
// lock is released. It requires c.mu held.
func (c *call) launchLocked() (refused int) {
	if len(c.attempts) >= c.h.maxHedges {
		return 0
	}
	if c.h.budget != nil && !c.h.budget.TryRetry() {
		return len(c.attempts) + 2
	}
	a := &attemptCtx{parent: c.ctx}
	c.attempts = append(c.attempts, a)
	c.running++
	n := len(c.attempts) + 1 // the primary is attempt 1
	// Reported with the lock held would break the rule that observers run
	// without locks: report from the hedge's goroutine instead.
	go c.runHedge(a, n)
	if len(c.attempts) < c.h.maxHedges {
		c.timer = time.AfterFunc(c.delay, c.onTimer)
	}
	return 0
}

// reportRefusedLocked reports the hedge the budget refused, if any,
// without holding c.mu while the observers run. Meanwhile the report counts
// as a running attempt, so the call cannot return before it is done. It
// requires c.mu held and returns with it held.
func (c *call) reportRefusedLocked(attempt int) {
	if attempt == 0 {
		return
	}
	c.running++
	c.mu.Unlock()
	c.h.reporter.Report(c.ctx, c.next, &bulwark.Event{Type: bulwark.EventBudgetExceeded, Attempt: attempt})
	c.mu.Lock()
	c.running--
}

func (c *call) runHedge(a *attemptCtx, n int) {
	c.h.reporter.Report(c.ctx, c.next, &bulwark.Event{Type: bulwark.EventHedge, Attempt: n, Delay: c.delay})
	err := c.next.Run(a)
	c.finish(a, err)
}

// finish records an attempt's outcome.
func (c *call) finish(a *attemptCtx, err error) {
	a.release()
	if b := c.h.budget; b != nil && a != &c.primary {
		b.RecordAttempt(err == nil)
	}
	c.mu.Lock()
	if a != &c.primary {
		c.running--
	} else {
		c.primaryDone = true
	}
	if !c.decided {
		if c.terminal(err) {
			c.decideLocked(err)
		} else {
			c.errs = append(c.errs, err)
			if c.timer != nil {
				c.timer.Stop()
			}
			c.reportRefusedLocked(c.launchLocked()) // a failure launches the next hedge at once
		}
	}
	c.settleLocked()
	c.mu.Unlock()
}

// settleLocked decides a call whose attempts all failed once nothing runs
// and no hedge can follow, and wakes the caller once the call is decided
// and every attempt has returned. It requires c.mu held.
func (c *call) settleLocked() {
	if c.running > 0 || !c.primaryDone {
		return
	}
	if !c.decided {
		c.decideLocked(errors.Join(c.errs...))
	}
	if c.done != nil {
		close(c.done)
		c.done = nil
	}
}

// decideLocked settles the call's result and cancels the attempts still
// running. It requires c.mu held.
func (c *call) decideLocked(err error) {
	c.decided = true
	c.result = err
	if c.timer != nil {
		c.timer.Stop()
	}
	c.primary.cancel()
	for _, a := range c.attempts {
		a.cancel()
	}
}

// wait returns the call's result once every attempt has returned.
func (c *call) wait() error {
	c.mu.Lock()
	if c.decided && c.running == 0 {
		defer c.mu.Unlock()
		return c.result
	}
	done := make(chan struct{})
	c.done = done
	c.mu.Unlock()
	<-done
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.result
}
