package fallback

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/core"
	"github.com/bulwark-go/bulwark/internal/counter"
	"github.com/bulwark-go/bulwark/internal/observe"
	"github.com/bulwark-go/bulwark/internal/outcome"
	"github.com/bulwark-go/bulwark/internal/policyopt"
	"go.opentelemetry.io/otel/metric"
)

// A Fallback replaces a failed call's outcome with the outcome of an
// alternate function, which receives the error and returns nil for a
// success (after setting the caller's result, or handing it to bulwark.Get
// with bulwark.Supply) or an error. It runs for every error, a rejection
// or a timeout of a policy inside included, unless WithHandleIf narrows
// that down; never for the caller's own cancellation.
//
// Build a Fallback with New and share it. Most callers put it outermost in
// a pipeline, where it sees the final error, or use Execute. Status tells
// how many failures it replaced.
//
// The zero Fallback has no alternate function: it runs the call and
// returns its outcome unchanged. A Fallback is safe for concurrent use by
// multiple goroutines.
type Fallback struct {
	fn       func(context.Context, error) error
	handles  func(error) bool
	recover  bool
	reporter core.Reporter
	name     string
	// fallbacks counts the errors handled: striped, since with the
	// dependency down every call falls back.
	fallbacks counter.Striped
}

var (
	_ bulwark.Stage       = (*Fallback)(nil)
	_ bulwark.Inspectable = (*Fallback)(nil)
)

// PanicError is the error a panic in the protected function becomes when
// the Fallback was built with WithRecover. The fallback function receives
// it.
type PanicError struct {
	Value any    // the value passed to panic; nil for panic(nil) under GODEBUG=panicnil=1
	Stack []byte // the panicking goroutine's stack, from runtime/debug.Stack
}

func (e *PanicError) Error() string { return fmt.Sprintf("bulwark/fallback: panic: %v", e.Value) }

// Unwrap returns the panic value if it is an error, so that errors.Is and
// errors.As see it.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// Option configures a Fallback.
type Option interface{ apply(*config) }

type config struct {
	handles func(error) bool
	recover bool
	tel     policyopt.Telemetry
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithHandleIf runs the fallback only for errors for which pred returns
// true; other errors are returned as they are. The caller's own
// cancellation is never handled, whatever pred says. Default: every error.
// It panics if pred is nil.
func WithHandleIf(pred func(err error) bool) Option {
	if pred == nil {
		panic("bulwark/fallback: WithHandleIf: predicate must not be nil")
	}
	return optionFunc(func(c *config) { c.handles = pred })
}

// WithRecover turns a panic in the protected function into a *PanicError
// that the fallback function receives, whatever WithHandleIf says. A panic
// in the fallback function itself still propagates. Default: off (a panic
// propagates to the caller unchanged).
func WithRecover() Option {
	return optionFunc(func(c *config) { c.recover = true })
}

// WithName names the policy in its events (bulwark.policy.name).
// Default: unnamed. It panics if name is empty.
func WithName(name string) Option {
	name = policyopt.Name("fallback", name)
	return optionFunc(func(c *config) { c.tel.Name = name })
}

// WithMeterProvider records the policy's events through mp.
// Default: the pipeline's provider if it has one, else the global one.
// It panics if mp is nil.
func WithMeterProvider(mp metric.MeterProvider) Option {
	mp = policyopt.MeterProvider("fallback", mp)
	return optionFunc(func(c *config) { c.tel.MeterProvider = mp })
}

// WithObserver adds an observer of the policy's events. Default: none.
// It panics if o is nil.
func WithObserver(o bulwark.Observer) Option {
	o = policyopt.Observer("fallback", o)
	return optionFunc(func(c *config) { c.tel.Observers = append(c.tel.Observers, o) })
}

// New returns a Fallback that calls fn with the error of a failed call and
// returns what fn returns: nil to turn the failure into a success (after
// setting the result the caller reads, or handing it to bulwark.Get with
// bulwark.Supply), an error to replace it. It panics if fn is nil.
func New(fn func(ctx context.Context, err error) error, opts ...Option) *Fallback {
	if fn == nil {
		panic("bulwark/fallback: New: fallback function must not be nil")
	}
	var c config
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	f := &Fallback{
		fn:       fn,
		handles:  c.handles,
		recover:  c.recover,
		reporter: c.tel.Reporter("fallback"),
		name:     c.tel.Name,
	}
	observe.Calls(f.reporter, f, func(f *Fallback, _ outcome.Outcome) int64 { return f.fallbacks.Load() }, outcome.Failure)
	return f
}

// Status returns the fallback's state in the shape every policy shares:
// Kind "fallback", its Name, and Failures the failed calls whose outcome
// the fallback function replaced (each EventFallback, whatever the error
// and whatever the function returned; the bulwark.calls series with
// outcome "failure"). A Fallback has no state, and does not count the
// calls that succeed or the errors it passes on, so that its success path
// stays free: the other fields are 0. It takes no lock and allocates
// nothing.
func (f *Fallback) Status() bulwark.Status {
	return bulwark.Status{Kind: "fallback", Name: f.name, Failures: f.fallbacks.Load()}
}

// Execute runs fn and, if it fails with an error the Fallback handles, the
// fallback function.
func (f *Fallback) Execute(ctx context.Context, fn func(context.Context) error) error {
	return bulwark.RunStage(ctx, f, fn)
}

// ExecuteStage implements bulwark.Stage.
func (f *Fallback) ExecuteStage(ctx context.Context, next bulwark.Next) error {
	if f.fn == nil { // the zero Fallback
		return next.Run(ctx)
	}
	if f.recover {
		return f.executeRecovering(ctx, next)
	}
	err := next.Run(ctx)
	if err == nil {
		return nil
	}
	if bulwark.CallerCanceled(ctx, err) || (f.handles != nil && !f.handles(err)) {
		return err
	}
	return f.fall(ctx, next, err)
}

func (f *Fallback) executeRecovering(ctx context.Context, next bulwark.Next) error {
	err := runRecovering(ctx, next)
	if err == nil {
		return nil
	}
	if _, isPanic := err.(*PanicError); !isPanic &&
		(bulwark.CallerCanceled(ctx, err) || (f.handles != nil && !f.handles(err))) {
		return err
	}
	return f.fall(ctx, next, err)
}

// runRecovering runs next, a panic in it made a *PanicError. The call
// returned or it did not: recover returns nil for panic(nil) under
// GODEBUG=panicnil=1, which a nil check would take for a success. A nil
// value is also what recover returns during a runtime.Goexit, which goes
// on whatever err is set to, so that it never reaches the fallback.
func runRecovering(ctx context.Context, next bulwark.Next) (err error) {
	returned := false
	defer func() {
		if !returned {
			err = &PanicError{Value: recover(), Stack: debug.Stack()}
		}
	}()
	err = next.Run(ctx)
	returned = true
	return err
}

func (f *Fallback) fall(ctx context.Context, next bulwark.Next, err error) error {
	f.fallbacks.Add(1)
	if f.reporter.Listening(ctx, next) {
		f.reporter.Report(ctx, next, bulwark.Event{Type: bulwark.EventFallback, Err: err})
	}
	return f.fn(ctx, err)
}
