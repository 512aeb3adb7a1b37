package timeout

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/core"
	"github.com/bulwark-go/bulwark/internal/observe"
	"github.com/bulwark-go/bulwark/internal/outcome"
	"github.com/bulwark-go/bulwark/internal/policyopt"
	"go.opentelemetry.io/otel/metric"
)

// ErrTimeout is returned when a Timeout's own deadline fired before the
// call finished. It matches context.DeadlineExceeded with errors.Is, and
// has a Timeout() method that reports true, as net.Error does. It does not
// match bulwark.ErrRejected: a timeout is the dependency being slow, and
// the policies that learn from outcomes count it as a failure.
var ErrTimeout error = timeoutError{}

// ErrZeroValue is returned by the zero Timeout, which has no duration: build
// one with New. It is not a rejection (it does not match
// bulwark.ErrRejected): it is a mistake in the program, not a refusal under
// load.
var ErrZeroValue error = zeroValueError{}

type zeroValueError struct{}

func (zeroValueError) Error() string {
	return "bulwark/timeout: a zero timeout.Timeout has no duration; build it with timeout.New"
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "bulwark/timeout: timed out" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Is(t error) bool { return t == context.DeadlineExceeded }

// lateError is ErrTimeout around the error the call returned after the
// deadline fired, even one that wraps the deadline itself (a *url.Error):
// errors.Is and errors.As reach both.
type lateError struct{ err error }

func (e *lateError) Error() string   { return "bulwark/timeout: timed out: " + e.err.Error() }
func (e *lateError) Timeout() bool   { return true }
func (e *lateError) Unwrap() error   { return e.err }
func (e *lateError) Is(t error) bool { return t == ErrTimeout || timeoutError{}.Is(t) }

// A Timeout bounds the duration of a call: the protected function runs
// with a context whose deadline is the Timeout's (or the caller's, if that
// comes first), and Execute returns ErrTimeout when the Timeout's own
// deadline fired. Enforcement is cooperative: Execute waits for the
// function to return, unless the Timeout is built WithAbandon.
//
// Build a Timeout with New and share it. Most callers use Execute, or put
// the Timeout in a pipeline: before a retry it bounds the whole call,
// after it each attempt. Status tells how many calls timed out.
//
// The zero Timeout has no duration: its Execute runs nothing and returns
// ErrZeroValue. A Timeout is safe for concurrent use by multiple
// goroutines.
type Timeout struct {
	d        time.Duration
	dynamic  func(context.Context) time.Duration
	abandon  bool
	reporter core.Reporter
	name     string
	// timeouts counts the calls whose deadline fired. A timeout fires
	// after the call's whole duration, so the count is never hot: a plain
	// atomic, 8 bytes, where a striped counter would take 384.
	timeouts atomic.Int64
}

var (
	_ bulwark.Stage       = (*Timeout)(nil)
	_ bulwark.Inspectable = (*Timeout)(nil)
)

// Option configures a Timeout.
type Option interface{ apply(*config) }

type config struct {
	dynamic func(context.Context) time.Duration
	abandon bool
	tel     policyopt.Telemetry
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithDurationFunc computes the timeout of each call from its context (a
// deadline sent by the client, a per-route setting). A result <= 0 means
// the duration given to New. Default: the duration given to New for every
// call. It panics if fn is nil.
func WithDurationFunc(fn func(ctx context.Context) time.Duration) Option {
	if fn == nil {
		panic("bulwark/timeout: WithDurationFunc: function must not be nil")
	}
	return optionFunc(func(c *config) { c.dynamic = fn })
}

// WithAbandon makes Execute return at the deadline (or at the caller's
// cancellation) even if the protected function ignores its context. The
// function keeps running on a goroutine of its own until it returns; its
// result is then dropped, and a panic it raises after the caller has gone
// crashes the program, as an unrecovered panic on any goroutine does.
// Each call then costs a goroutine and a channel. Default: off (Execute
// waits for the function to return).
//
// Order matters with a bulkhead: a bulkhead outside an abandoning Timeout
// gets its permit back when the call is abandoned, while the function goes
// on running, so it bounds waiting callers, not running functions. Put the
// bulkhead inside the Timeout (after it in bulwark.New) to bound the
// functions themselves.
func WithAbandon() Option {
	return optionFunc(func(c *config) { c.abandon = true })
}

// WithName names the policy in its events (bulwark.policy.name).
// Default: unnamed. It panics if name is empty.
func WithName(name string) Option {
	name = policyopt.Name("timeout", name)
	return optionFunc(func(c *config) { c.tel.Name = name })
}

// WithMeterProvider records the policy's events through mp.
// Default: the pipeline's provider if it has one, else the global one.
// It panics if mp is nil.
func WithMeterProvider(mp metric.MeterProvider) Option {
	mp = policyopt.MeterProvider("timeout", mp)
	return optionFunc(func(c *config) { c.tel.MeterProvider = mp })
}

// WithObserver adds an observer of the policy's events. Default: none.
// It panics if o is nil.
func WithObserver(o bulwark.Observer) Option {
	o = policyopt.Observer("timeout", o)
	return optionFunc(func(c *config) { c.tel.Observers = append(c.tel.Observers, o) })
}

// New returns a Timeout that gives each call d to finish. It panics if d is
// not positive: a zero or negative timeout is a configuration error, not
// "no timeout" (leave the policy out for that).
func New(d time.Duration, opts ...Option) *Timeout {
	if d <= 0 {
		panic(fmt.Sprintf("bulwark/timeout: New: duration must be > 0, got %v", d))
	}
	var c config
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	t := &Timeout{
		d:        d,
		dynamic:  c.dynamic,
		abandon:  c.abandon,
		reporter: c.tel.Reporter("timeout"),
		name:     c.tel.Name,
	}
	observe.Calls(t.reporter, t, func(t *Timeout, _ outcome.Outcome) int64 { return t.timeouts.Load() }, outcome.Failure)
	return t
}

// Status returns the timeout's state in the shape every policy shares:
// Kind "timeout", its Name, and Failures the calls whose own deadline
// fired (each EventTimeout; the bulwark.calls series with outcome
// "failure"). A Timeout has no state, and does not count the calls that
// finish in time, so that its success path costs no more than its
// context: the other fields are 0. It takes no lock and allocates nothing.
func (t *Timeout) Status() bulwark.Status {
	return bulwark.Status{Kind: "timeout", Name: t.name, Failures: t.timeouts.Load()}
}

// Duration returns the duration given to New.
func (t *Timeout) Duration() time.Duration { return t.d }

// Execute runs fn with a context that is done after the timeout.
func (t *Timeout) Execute(ctx context.Context, fn func(context.Context) error) error {
	return bulwark.RunStage(ctx, t, fn)
}

// ExecuteStage implements bulwark.Stage.
func (t *Timeout) ExecuteStage(ctx context.Context, next bulwark.Next) error {
	d := t.d
	if d == 0 {
		return ErrZeroValue
	}
	if t.dynamic != nil {
		if dd := t.dynamic(ctx); dd > 0 {
			d = dd
		}
	}
	deadline := time.Now().Add(d)
	if t.abandon {
		return t.runAbandoning(ctx, next, d, deadline)
	}
	if pd, ok := ctx.Deadline(); ok && !pd.After(deadline) {
		// The caller's deadline comes first: ours cannot fire, and the
		// context needs no timer of its own.
		return next.Run(ctx)
	}
	tctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	err := next.Run(tctx)
	if err == nil || ctx.Err() != nil || tctx.Err() == nil {
		return err
	}
	return t.timedOut(ctx, next, d, err)
}

// timedOut reports the timeout and returns the error for it; err is what the
// call returned, nil if it was abandoned.
func (t *Timeout) timedOut(ctx context.Context, next bulwark.Next, d time.Duration, err error) error {
	t.timeouts.Add(1)
	out := ErrTimeout
	if err != nil && err != context.DeadlineExceeded {
		out = &lateError{err: err}
	}
	if t.reporter.Listening(ctx, next) {
		t.reporter.Report(ctx, next, bulwark.Event{Type: bulwark.EventTimeout, Delay: d, Err: out})
	}
	return out
}

// The states of an abandoning call, so that exactly one side handles the
// result: the caller if it is still waiting, the goroutine otherwise.
const (
	running int32 = iota
	delivered
	abandoned
)

type result struct {
	err      error
	panicked bool
	value    any
}

func (t *Timeout) runAbandoning(ctx context.Context, next bulwark.Next, d time.Duration, deadline time.Time) error {
	tctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var state atomic.Int32
	done := make(chan result, 1)
	go func() {
		// A nil recover is a runtime.Goexit, or a panic(nil) under
		// GODEBUG=panicnil=1: the inner function returns only after the
		// panic, which is how the two are told apart.
		var r result
		returned, recovered := false, false
		defer func() {
			if !returned && !recovered {
				r = result{err: errors.New("bulwark/timeout: the protected function called runtime.Goexit")}
			}
			if state.CompareAndSwap(running, delivered) {
				done <- r
			} else if r.panicked {
				panic(r.value) // nobody is left to receive it
			}
		}()
		func() {
			defer func() {
				if !returned {
					r.value, r.panicked = recover(), true
				}
			}()
			r.err = next.Run(tctx)
			returned = true
		}()
		recovered = !returned
	}()
	select {
	case r := <-done:
		return t.finish(ctx, tctx, next, d, r)
	case <-tctx.Done():
		if !state.CompareAndSwap(running, abandoned) {
			return t.finish(ctx, tctx, next, d, <-done)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		return t.timedOut(ctx, next, d, nil)
	}
}

func (t *Timeout) finish(ctx, tctx context.Context, next bulwark.Next, d time.Duration, r result) error {
	if r.panicked {
		panic(r.value)
	}
	if r.err == nil || ctx.Err() != nil || tctx.Err() == nil {
		return r.err
	}
	return t.timedOut(ctx, next, d, r.err)
}
