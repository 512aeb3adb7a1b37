package retry

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"sync"
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

// ErrExhausted is matched, with errors.Is, by the error Execute returns
// when it stops retrying a retryable failure: attempts, time or budget ran
// out. That error is an *ExhaustedError, which wraps the last attempt's
// error. It is not a rejection (it does not match bulwark.ErrRejected):
// the dependency was asked, and failed.
var ErrExhausted error = exhaustedError{}

type exhaustedError struct{}

func (exhaustedError) Error() string { return "bulwark/retry: retries exhausted" }

// Reasons for giving up, in ExhaustedError.Reason and Event.Reason.
const (
	ReasonMaxAttempts = "max_attempts" // every attempt was made
	ReasonMaxDuration = "max_duration" // WithMaxDuration would be exceeded
	ReasonDeadline    = "deadline"     // the caller's deadline would pass before another attempt could finish
	ReasonRetryAfter  = "retry_after"  // the dependency asked for a wait that does not fit the time left (deadline or max duration)
	ReasonBudget      = "budget"       // the retry budget is spent
)

// ExhaustedError is returned when retries stop while the last attempt's
// error was still worth retrying.
type ExhaustedError struct {
	Attempts int    // attempts made, the first included
	Reason   string // why retrying stopped: ReasonMaxAttempts ...
	Err      error  // the last attempt's error
}

func (e *ExhaustedError) Error() string {
	return fmt.Sprintf("bulwark/retry: gave up after %d attempts (%s): %v", e.Attempts, e.Reason, e.Err)
}

// Unwrap returns the last attempt's error, so errors.Is and errors.As see
// it.
func (e *ExhaustedError) Unwrap() error { return e.Err }

// Is reports whether target is ErrExhausted.
func (e *ExhaustedError) Is(target error) bool { return target == ErrExhausted }

// A Retry runs a call again when it fails with an error worth retrying,
// waiting a backoff between attempts: by default up to 3 attempts, with an
// exponential backoff from 100ms and full jitter. A bulwark.Permanent
// error, the caller's own cancellation and a local rejection without a
// bulwark.RetryAfter hint are returned as they are; when retrying stops
// with the error still worth retrying, Execute returns an *ExhaustedError
// around it. No wait runs past the caller's deadline.
//
// Build a Retry with New and share it. Most callers use Execute, or put
// the Retry in a pipeline (bulwark.New), where each attempt runs the
// policies after it; Status and Snapshot tell what it has counted.
//
// The zero Retry works as New() with no options: unnamed, reporting
// through the global meter provider. A Retry is safe for concurrent use by
// multiple goroutines and keeps nothing per call.
type Retry struct {
	attempts    int // 0 only in the zero Retry
	backoff     backoff
	delayFn     func(attempt int, err error) time.Duration
	maxDelay    time.Duration
	maxDuration time.Duration
	retryIf     func(error) bool
	budget      budget.Budget
	share       *budget.Share // nil without a budget
	random      func() float64
	reporter    core.Reporter
	name        string
	// fixedDelay is true when every wait is backoff.initial, unless an
	// error's hint says otherwise: WithDelay without jitter, max delay or
	// delay function.
	fixedDelay bool
	// counts holds the retries, the exhaustions and the budget's refusals
	// (slotRetries ...), added on the failure paths only: striped, since a
	// failing dependency makes them as hot as the calls.
	counts counter.Striped
}

// The slots of Retry.counts.
const (
	slotRetries = iota
	slotExhausted
	slotRefused
)

// defaultRetry runs the calls of the zero Retry, which count in the zero
// Retry itself: it exports no bulwark.calls of its own, which would be an
// unnamed series that never moves.
var defaultRetry = sync.OnceValue(func() *Retry { return build() })

var (
	_ bulwark.Stage       = (*Retry)(nil)
	_ bulwark.Inspectable = (*Retry)(nil)
)

// Option configures a Retry.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	attempts    int
	backoff     backoff
	delayFn     func(int, error) time.Duration
	maxDelay    time.Duration
	maxDuration time.Duration
	retryIf     func(error) bool
	budget      budget.Budget
	random      func() float64
	jitterSet   bool
	tel         policyopt.Telemetry
}

func panicf(option, format string, args ...any) {
	panic(fmt.Sprintf("bulwark/retry: "+option+": "+format, args...))
}

// WithMaxAttempts is the number of attempts, the first included (as in
// gRPC and failsafe-go; Polly counts retries). Default: 3. It panics if
// n < 1.
func WithMaxAttempts(n int) Option {
	if n < 1 {
		panicf("WithMaxAttempts", "n must be >= 1, got %d", n)
	}
	return optionFunc(func(c *config) { c.attempts = n })
}

// WithDelay waits d before every retry; 0 retries at once, without a
// timer. A wait that cannot fit the caller's deadline or WithMaxDuration,
// however long, makes Execute give up at once. Default: exponential backoff
// (see New). It panics if d < 0.
func WithDelay(d time.Duration) Option {
	if d < 0 {
		panicf("WithDelay", "delay must be >= 0, got %v", d)
	}
	return optionFunc(func(c *config) { c.backoff = backoff{kind: backoffConstant, initial: d, jitter: c.backoff.jitter} })
}

// WithLinearBackoff waits initial before the first retry, then increment
// more before each next one, up to max. It panics unless initial >= 0,
// increment > 0 and max >= initial, max > 0.
func WithLinearBackoff(initial, increment, max time.Duration) Option {
	if initial < 0 {
		panicf("WithLinearBackoff", "initial must be >= 0, got %v", initial)
	}
	if increment <= 0 {
		panicf("WithLinearBackoff", "increment must be > 0, got %v", increment)
	}
	if max <= 0 || max < initial {
		panicf("WithLinearBackoff", "max must be > 0 and >= initial %v, got %v", initial, max)
	}
	return optionFunc(func(c *config) {
		c.backoff = backoff{kind: backoffLinear, initial: initial, increment: increment, max: max, jitter: c.backoff.jitter}
	})
}

// WithExponentialBackoff waits initial before the first retry and
// multiplies the wait by factor before each next one, up to max. It panics
// unless initial > 0, factor >= 1 (and finite) and max >= initial.
func WithExponentialBackoff(initial time.Duration, factor float64, max time.Duration) Option {
	if initial <= 0 {
		panicf("WithExponentialBackoff", "initial must be > 0, got %v", initial)
	}
	if math.IsNaN(factor) || math.IsInf(factor, 0) || factor < 1 {
		panicf("WithExponentialBackoff", "factor must be >= 1, got %v", factor)
	}
	if max < initial {
		panicf("WithExponentialBackoff", "max must be >= initial %v, got %v", initial, max)
	}
	return optionFunc(func(c *config) {
		c.backoff = backoff{kind: backoffExponential, initial: initial, factor: factor, max: max, jitter: c.backoff.jitter}
	})
}

// WithJitter spreads the backoff's delays. Default: JitterFull with the
// default backoff, JitterNone with a backoff given by an option. It panics
// on an unknown kind.
func WithJitter(j Jitter) Option {
	if j > JitterDecorrelated {
		panicf("WithJitter", "unknown jitter %d", j)
	}
	return optionFunc(func(c *config) { c.backoff.jitter = j; c.jitterSet = true })
}

// WithDelayFunc computes the wait before each retry (attempt is the number
// of the attempt about to be made, 2 for the first retry; err is the
// failure being retried), for everything the backoffs do not cover. A
// negative result is taken as 0. A server's hint still takes precedence.
// It panics if fn is nil.
func WithDelayFunc(fn func(attempt int, err error) time.Duration) Option {
	if fn == nil {
		panicf("WithDelayFunc", "function must not be nil")
	}
	return optionFunc(func(c *config) { c.delayFn = fn })
}

// WithMaxDelay caps every wait, the dependency's own hints (Retry-After,
// gRPC pushback, an open breaker's reopening time) included. Default: no
// cap beyond the backoff's. It panics if d <= 0.
func WithMaxDelay(d time.Duration) Option {
	if d <= 0 {
		panicf("WithMaxDelay", "delay must be > 0, got %v", d)
	}
	return optionFunc(func(c *config) { c.maxDelay = d })
}

// WithMaxDuration bounds the whole call, from the first attempt's start: no
// retry starts that could not finish within d (judged by the previous
// attempt's duration). It reads the clock once per call. Default: none
// (the caller's deadline still applies). It panics if d <= 0.
func WithMaxDuration(d time.Duration) Option {
	if d <= 0 {
		panicf("WithMaxDuration", "duration must be > 0, got %v", d)
	}
	return optionFunc(func(c *config) { c.maxDuration = d })
}

// WithRetryIf decides which errors are retried. Whatever it says,
// bulwark.Permanent errors, the caller's own cancellation and local
// rejections (bulwark.ErrRejected) without a bulwark.RetryAfter hint are
// never retried, and a hinted rejection only when the hint fits the time
// left. Default: every other error, a timeout included. It panics if pred
// is nil.
func WithRetryIf(pred func(err error) bool) Option {
	if pred == nil {
		panicf("WithRetryIf", "predicate must not be nil")
	}
	return optionFunc(func(c *config) { c.retryIf = pred })
}

// WithBudget draws every retry from b (budget.NewToken, budget.NewRatio),
// shared with other policies: when it is spent, retrying stops with
// ReasonBudget. A call is one request for b however many policies drawing
// from it the call passes through (see the budget package). Default: no
// budget. It panics if b is nil or not comparable.
func WithBudget(b budget.Budget) Option {
	if b == nil {
		panicf("WithBudget", "budget must not be nil")
	}
	if !reflect.TypeOf(b).Comparable() {
		panicf("WithBudget", "budget must be comparable (a pointer), got %T", b)
	}
	return optionFunc(func(c *config) { c.budget = b })
}

// WithName names the policy in its events (bulwark.policy.name).
// Default: unnamed. It panics if name is empty.
func WithName(name string) Option {
	name = policyopt.Name("retry", name)
	return optionFunc(func(c *config) { c.tel.Name = name })
}

// WithMeterProvider records the policy's events through mp. Default: the
// pipeline's provider if it has one, else the global one. It panics if mp
// is nil.
func WithMeterProvider(mp metric.MeterProvider) Option {
	mp = policyopt.MeterProvider("retry", mp)
	return optionFunc(func(c *config) { c.tel.MeterProvider = mp })
}

// WithObserver adds an observer of the policy's events. Default: none. It
// panics if o is nil.
func WithObserver(o bulwark.Observer) Option {
	o = policyopt.Observer("retry", o)
	return optionFunc(func(c *config) { c.tel.Observers = append(c.tel.Observers, o) })
}

// Default backoff: exponential from 100ms, doubling, up to 10s, with full
// jitter.
var defaultBackoff = backoff{kind: backoffExponential, initial: 100 * time.Millisecond, factor: 2, max: 10 * time.Second, jitter: JitterFull}

// New returns a Retry configured by opts. With no options it makes up to 3
// attempts, waiting an exponential backoff from 100ms (doubling, up to 10s)
// with full jitter between them. It panics, naming the option and the
// value, if the configuration is invalid.
func New(opts ...Option) *Retry {
	r := build(opts...)
	observe.Calls(r.reporter, r, func(r *Retry, _ outcome.Outcome) int64 { return r.counts.LoadAt(slotExhausted) }, outcome.Failure)
	return r
}

// build returns the Retry New returns, without its bulwark.calls.
func build(opts ...Option) *Retry {
	c := config{attempts: 3, random: rand.Float64}
	c.backoff.kind = 255 // unset
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if c.backoff.kind == 255 {
		j, set := c.backoff.jitter, c.jitterSet
		c.backoff = defaultBackoff
		if set {
			c.backoff.jitter = j
		}
	}
	if c.backoff.jitter == JitterDecorrelated && c.backoff.initial <= 0 {
		panicf("WithJitter", "decorrelated jitter needs a backoff with an initial delay > 0")
	}
	r := &Retry{
		attempts:    c.attempts,
		backoff:     c.backoff,
		delayFn:     c.delayFn,
		maxDelay:    c.maxDelay,
		maxDuration: c.maxDuration,
		retryIf:     c.retryIf,
		budget:      c.budget,
		random:      c.random,
		reporter:    c.tel.Reporter("retry"),
		name:        c.tel.Name,
		fixedDelay:  c.delayFn == nil && c.backoff.kind == backoffConstant && c.backoff.jitter == JitterNone && c.maxDelay == 0,
	}
	if c.budget != nil {
		r.share = budget.NewShare(c.budget)
	}
	return r
}

// Execute runs fn, and again after a failure worth retrying, until it
// succeeds or retrying stops.
func (r *Retry) Execute(ctx context.Context, fn func(context.Context) error) error {
	if ctx == nil {
		return bulwark.ErrNilContext
	}
	if fn == nil {
		return bulwark.ErrNilFunc
	}
	return r.execute(ctx, bulwark.Next{}, fn)
}

// ExecuteStage implements bulwark.Stage.
func (r *Retry) ExecuteStage(ctx context.Context, next bulwark.Next) error {
	return r.execute(ctx, next, nil)
}

// run makes one attempt: fn when Execute was given it, else the rest of the
// pipeline.
func run(ctx context.Context, next bulwark.Next, fn func(context.Context) error) error {
	if fn != nil {
		return fn(ctx)
	}
	return next.Run(ctx)
}

// execute runs the call and counts it in r. The first attempt of the zero
// Retry needs nothing of New()'s configuration, which has no budget and no
// max duration either: it is read from defaultRetry only if the first
// attempt fails, so that the success path does not look for it.
func (r *Retry) execute(ctx context.Context, next bulwark.Next, fn func(context.Context) error) error {
	// The attempts run under the context Begin returns, through which
	// policies inside that share the budget see the call recorded.
	records := false
	if r.share != nil {
		if ctx, records = r.share.Begin(ctx); records {
			r.budget.RecordRequest()
		}
	}
	// The clock is read only when a time limit needs the first attempt's
	// start.
	var start time.Time
	_, hasDeadline := ctx.Deadline()
	if hasDeadline || r.maxDuration > 0 {
		start = time.Now()
	}
	err := run(ctx, next, fn)
	if err == nil {
		if records {
			r.budget.RecordAttempt(true)
		}
		return nil
	}
	cfg := r
	if r.attempts == 0 {
		cfg = defaultRetry()
	}
	return cfg.retry(ctx, next, fn, err, start, records, &r.counts)
}

// retry runs the attempts after the first, which failed with err, under
// r's configuration, and counts them in counts, which are r's own but for
// the zero Retry's. A failing dependency makes this path as hot as the
// calls, so it asks whether anything listens once per call, not per
// attempt, and adds the retries to counts once, when it returns.
func (r *Retry) retry(ctx context.Context, next bulwark.Next, fn func(context.Context) error, err error, start time.Time, records bool, counts *counter.Striped) error {
	var prevDelay time.Duration
	attemptStart := start
	done := ctx.Done()
	listening := listenUnknown
	// The retries are added when retry returns, by panic too.
	retries := 0
	defer func() { counts.AddAt(slotRetries, int64(retries)) }()
	for attempt := 1; ; attempt++ {
		var hint time.Duration
		hinted, rejected := false, false
		// errors.New's errors wrap nothing and carry no hint or mark, and
		// bulwark.ErrRejected is of another type.
		if reflect.TypeOf(err) != plainError {
			var permanent bool
			permanent, hint, hinted = core.Inspect(err)
			if permanent || outcome.IsNoRetry(err) {
				return err
			}
			rejected = errors.Is(err, bulwark.ErrRejected)
		}
		// A done context covers the caller's own cancellation: nothing is
		// retried for a caller that has gone. done is nil for a context
		// that is never done.
		if done != nil {
			select {
			case <-done:
				return err
			default:
			}
		}
		if r.retryIf != nil && !r.retryIf(err) {
			return err
		}
		// A local rejection never reached the dependency: retried only
		// when it says when to come back, and not counted as a failure.
		if rejected && !hinted {
			return err
		}
		if records && !rejected {
			r.budget.RecordAttempt(false)
		}
		if attempt >= r.attempts {
			return r.exhausted(ctx, next, counts, attempt, ReasonMaxAttempts, 0, err)
		}
		delay := r.backoff.initial // WithDelay: the common case, kept inline
		if hinted || !r.fixedDelay {
			delay = r.delay(attempt, prevDelay, err, hint, hinted)
		}
		if !start.IsZero() {
			if reason := r.misfit(ctx, start, attemptStart, delay, hinted); reason != "" {
				return r.exhausted(ctx, next, counts, attempt, reason, delay, err)
			}
		}
		if r.budget != nil && !r.budget.TryRetry() {
			return r.refused(ctx, next, counts, attempt, err)
		}
		if listening == listenUnknown {
			listening = listenNo
			if r.reporter.Listening(ctx, next) {
				listening = listenYes
			}
		}
		if listening == listenYes {
			r.reporter.Report(ctx, next, bulwark.Event{Type: bulwark.EventRetry, Attempt: attempt + 1, Delay: delay, Err: err})
		}
		if delay > 0 {
			if cerr := sleep(ctx, delay); cerr != nil {
				return cerr
			}
		}
		prevDelay = delay
		if !start.IsZero() {
			attemptStart = time.Now()
		}
		retries++ // counted once the wait is over: a cancelled wait makes no attempt
		if fn != nil {
			err = fn(ctx)
		} else {
			err = next.Run(ctx)
		}
		if err == nil {
			if records {
				r.budget.RecordAttempt(true)
			}
			return nil
		}
	}
}

// refused counts and reports the budget's refusal of the retry after
// attempt, and returns the error for it.
func (r *Retry) refused(ctx context.Context, next bulwark.Next, counts *counter.Striped, attempt int, err error) error {
	counts.AddAt(slotRefused, 1)
	counts.AddAt(slotExhausted, 1)
	if r.reporter.Listening(ctx, next) {
		r.reporter.Report(ctx, next, bulwark.Event{Type: bulwark.EventBudgetExceeded, Attempt: attempt, Err: err})
	}
	return &ExhaustedError{Attempts: attempt, Reason: ReasonBudget, Err: err}
}

// What retry knows of the listeners of one call's events: asked once, and
// only when a retry is about to be reported.
const (
	listenUnknown = iota
	listenNo
	listenYes
)

// misfit returns why another attempt, after delay and as long as the one
// that started at attemptStart, could not finish within the time limits,
// or "" if it can. The sums saturate: a wait of math.MaxInt64 does not
// wrap around to one that seems to fit.
func (r *Retry) misfit(ctx context.Context, start, attemptStart time.Time, delay time.Duration, hinted bool) string {
	now := time.Now()
	need := addSat(delay, now.Sub(attemptStart))
	reason := ""
	if r.maxDuration > 0 && addSat(now.Sub(start), need) > r.maxDuration {
		reason = ReasonMaxDuration
	} else if dl, ok := ctx.Deadline(); ok && need > dl.Sub(now) {
		reason = ReasonDeadline
	}
	if reason != "" && hinted {
		reason = ReasonRetryAfter
	}
	return reason
}

// plainError is the type of errors.New's errors: they wrap nothing and
// are no rejection, which saves the inspection of the commonest failure.
var plainError = reflect.TypeOf(errors.New(""))

// addSat returns a + b, saturated at the bounds of Duration.
func addSat(a, b time.Duration) time.Duration {
	s := a + b
	switch {
	case b > 0 && s < a:
		return math.MaxInt64
	case b < 0 && s > a:
		return math.MinInt64
	}
	return s
}

// delay returns the wait before retry number n: the error's hint if it
// has one, else the backoff's. The loop reads a fixed delay without it.
func (r *Retry) delay(n int, prev time.Duration, err error, hint time.Duration, hinted bool) time.Duration {
	d := hint
	if !hinted {
		if r.delayFn != nil {
			d = max(r.delayFn(n+1, err), 0)
		} else {
			var u float64
			if r.backoff.jitter != JitterNone {
				u = r.random()
			}
			d = r.backoff.delay(n, prev, u)
		}
	}
	if r.maxDelay > 0 && d > r.maxDelay {
		d = r.maxDelay
	}
	return d
}

// exhausted reports giving up and returns the error for it. delay is the
// wait that did not fit the time left (the dependency's hint under
// ReasonRetryAfter), 0 when attempts ran out.
func (r *Retry) exhausted(ctx context.Context, next bulwark.Next, counts *counter.Striped, attempts int, reason string, delay time.Duration, err error) error {
	counts.AddAt(slotExhausted, 1)
	if r.reporter.Listening(ctx, next) {
		r.reporter.Report(ctx, next, bulwark.Event{Type: bulwark.EventExhausted, Attempt: attempts, Delay: delay, Reason: reason, Err: err})
	}
	return &ExhaustedError{Attempts: attempts, Reason: reason, Err: err}
}

// sleep waits d, or until ctx is done, in which case it returns ctx.Err().
// The timer is stopped before it returns.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
