// Package core gives bulwark's own packages the root package's machinery
// that users do not need: the reporter that delivers a policy's events,
// Next.Detach, a one-pass error inspection, the stages of a pipeline, and
// taps that let package operate watch policies built without it. The root
// hands them over through internal/hook; this package gives them their
// types.
package core

import (
	"context"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/hook"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Reporter delivers one policy's events to OpenTelemetry and to observers.
//
// An event is counted once in bulwark.events, through the nearest meter
// provider given explicitly (the policy's own, else the innermost pipeline's
// that has one, else the global provider); it is added as a span event to
// the recording span in the call's context; and it is passed to the
// policy's observers, then to the observers of each pipeline around the
// policy, innermost first. Nothing is called with a lock held.
type Reporter interface {
	// Report delivers e, after filling in its Policy, Name and Pipeline
	// fields. next is the Next the reporting stage was given (its zero
	// value outside a pipeline). When nothing listens it returns after
	// three checks. e is passed by value: through an interface, a pointer
	// would make every event escape to the heap.
	Report(ctx context.Context, next bulwark.Next, e bulwark.Event)
	// Listening reports whether an event reported now would reach
	// anything: a hot failure path asks before building an event.
	Listening(ctx context.Context, next bulwark.Next) bool
	// Meter is the meter of the policy's provider, for its observable
	// instruments.
	Meter() metric.Meter
	// Attributes identify the policy: its kind and instance name.
	Attributes() []attribute.KeyValue
}

// NewReporter returns the reporter of a policy of the given kind ("breaker")
// and instance name ("" for none). A nil mp means the global provider.
func NewReporter(kind, name string, mp metric.MeterProvider, observers ...bulwark.Observer) Reporter {
	return hook.NewReporter.(func(string, string, metric.MeterProvider, []bulwark.Observer) any)(kind, name, mp, observers).(Reporter)
}

// detach, inspect: the root's functions, typed once.
var (
	detach  = hook.Detach.(func(bulwark.Next) bulwark.Next)
	inspect = hook.Inspect.(func(error) (bool, time.Duration, bool))
)

// Detach returns n without its function: running it returns
// bulwark.ErrNilFunc, but it reports in the same pipelines. A stage keeps it
// to report events that happen after the call that caused them (a timer
// moving a breaker to half-open) without keeping the caller's function
// alive.
func Detach(n bulwark.Next) bulwark.Next { return detach(n) }

// Inspect reads, in one pass over err's tree, what bulwark.IsPermanent and
// bulwark.RetryAfter would say.
func Inspect(err error) (permanent bool, retryAfter time.Duration, hinted bool) {
	return inspect(err)
}

// stages, tap, tapDuration: the root's functions, typed once.
var (
	stages      = hook.Stages.(func(bulwark.Policy) ([]bulwark.Policy, bool))
	tap         = hook.Tap.(func(bulwark.Policy, bulwark.Observer) (func(), bool))
	tapDuration = hook.TapDuration.(func(bulwark.Policy, func(time.Time, time.Duration)) (func(), bool))
)

// Stages returns the policies of a pipeline, outermost first, nested
// pipelines spliced in, and whether p is a pipeline.
func Stages(p bulwark.Policy) ([]bulwark.Policy, bool) { return stages(p) }

// Tap adds o to the observers of an already built bulwark policy, after
// those it was built with, until untap is called; while o is there the
// policy reports its events as to any observer. ok is false, and nothing
// is added, for a policy without a reporter of its own: one built outside
// bulwark, or a zero value not configured by a first call yet. Tap reads
// the policy's fields: it must not run concurrently with the first call
// of a zero-value policy.
func Tap(p bulwark.Policy, o bulwark.Observer) (untap func(), ok bool) { return tap(p, o) }

// TapDuration hands f the start and duration of every call through a
// pipeline built with bulwark.WithCallDuration, until untap is called. f runs on the
// calling goroutine after each call and must be cheap. ok is false for any
// other policy.
func TapDuration(p bulwark.Policy, f func(start time.Time, took time.Duration)) (untap func(), ok bool) {
	return tapDuration(p, f)
}
