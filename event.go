package bulwark

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// EventType says what happened in an Event. Its String form is the value of
// the bulwark.event attribute.
type EventType uint8

// The event types. Each policy's package doc lists the ones it reports.
const (
	// EventStateChange: a policy moved from one state to another
	// (a breaker opening). Event.From and Event.To name the states.
	EventStateChange EventType = iota + 1
	// EventRetry: a retry was scheduled after Event.Delay.
	EventRetry
	// EventRejected: a call was refused without running.
	EventRejected
	// EventTimeout: a policy's own deadline fired before the call finished.
	EventTimeout
	// EventFallback: a fallback replaced the failed call's outcome.
	EventFallback
	// EventHedge: another attempt was launched beside a slow one.
	EventHedge
	// EventExhausted: a policy gave up retrying; Event.Reason says why.
	EventExhausted
	// EventBudgetExceeded: a retry or hedge was skipped because the retry
	// budget was spent.
	EventBudgetExceeded
	// EventLimitChange: an adaptive policy moved its limit to Event.Limit.
	EventLimitChange

	numEventTypes
)

var eventTypeNames = [numEventTypes]string{
	EventStateChange:    "state_change",
	EventRetry:          "retry",
	EventRejected:       "rejected",
	EventTimeout:        "timeout",
	EventFallback:       "fallback",
	EventHedge:          "hedge",
	EventExhausted:      "exhausted",
	EventBudgetExceeded: "budget_exceeded",
	EventLimitChange:    "limit_change",
}

// String returns the event type's name as it appears in telemetry:
// "state_change", "retry", "rejected", "timeout", "fallback", "hedge",
// "exhausted", "budget_exceeded", "limit_change".
func (t EventType) String() string {
	if t < numEventTypes && eventTypeNames[t] != "" {
		return eventTypeNames[t]
	}
	return "unknown"
}

// Event is one thing a policy did. Fields that do not apply to the type are
// zero.
type Event struct {
	Type     EventType
	Policy   string        // the policy's kind: "breaker", "retry", "timeout" ...
	Name     string        // the policy's instance name, "" if unnamed
	Pipeline string        // the innermost named pipeline around the policy, "" if none
	Attempt  int           // the attempt number, counting from 1, where attempts are counted
	Delay    time.Duration // the wait before the next attempt, or the deadline that fired
	From, To string        // the states of an EventStateChange
	Reason   string        // why a state changed or a call was rejected, when known
	Limit    int           // the new limit of an EventLimitChange
	Err      error         // the error that caused the event, if any
}

// Observer receives events. It is called synchronously on the goroutine of
// the call that caused the event, never with a lock held, so it may call
// back into the policy (read a breaker's state, say). It must be safe for
// concurrent use and should return quickly.
type Observer func(ctx context.Context, e Event)

// SlogObserver returns an Observer that logs every event to l at level, with
// the event's span-event name as the message ("bulwark.breaker.state_change")
// and its fields under the same keys as the telemetry attributes.
func SlogObserver(l *slog.Logger, level slog.Level) Observer {
	if l == nil {
		panic("bulwark: SlogObserver: logger must not be nil")
	}
	return func(ctx context.Context, e Event) {
		if !l.Enabled(ctx, level) {
			return
		}
		attrs := make([]slog.Attr, 0, 10)
		attrs = append(attrs,
			slog.String(string(AttrPolicy), e.Policy),
			slog.String(string(AttrEvent), e.Type.String()))
		if e.Name != "" {
			attrs = append(attrs, slog.String(string(AttrPolicyName), e.Name))
		}
		if e.Pipeline != "" {
			attrs = append(attrs, slog.String(string(AttrPipeline), e.Pipeline))
		}
		if e.Attempt > 0 {
			attrs = append(attrs, slog.Int(string(AttrAttempt), e.Attempt))
		}
		if e.Delay > 0 {
			attrs = append(attrs, slog.Duration(string(AttrDelay), e.Delay))
		}
		if e.From != "" || e.To != "" {
			attrs = append(attrs, slog.String(string(AttrStateFrom), e.From), slog.String(string(AttrStateTo), e.To))
		}
		if e.Reason != "" {
			attrs = append(attrs, slog.String(string(AttrReason), e.Reason))
		}
		if e.Limit > 0 {
			attrs = append(attrs, slog.Int(string(AttrLimit), e.Limit))
		}
		if e.Err != nil {
			attrs = append(attrs, slog.String(string(AttrError), e.Err.Error()))
		}
		l.LogAttrs(ctx, level, spanEventName(e.Policy, e.Type), attrs...)
	}
}

// spanEventName names the span event of an event: bulwark.<policy>.<event>,
// or bulwark.<policy> when the event is named after the policy
// (bulwark.retry, bulwark.timeout).
func spanEventName(policy string, t EventType) string {
	if policy == t.String() {
		return "bulwark." + policy
	}
	return "bulwark." + policy + "." + t.String()
}

// Outcome classifies how a call ended. Its String form is the value of the
// bulwark.outcome attribute.
type Outcome uint8

const (
	// OutcomeSuccess: the call returned nil.
	OutcomeSuccess Outcome = iota
	// OutcomeFailure: the call failed.
	OutcomeFailure
	// OutcomeIgnored: the caller cancelled the call or its deadline passed;
	// neither success nor failure of the dependency.
	OutcomeIgnored
	// OutcomeRejected: a policy refused the call (the error matches
	// ErrRejected).
	OutcomeRejected
)

var outcomeNames = [...]string{"success", "failure", "ignored", "rejected"}

// String returns "success", "failure", "ignored" or "rejected".
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "unknown"
}

// Classify returns the outcome of a call that returned err under ctx. The
// caller's own cancellation comes first: a timeout that fires after the
// caller has gone is the caller's business.
func Classify(ctx context.Context, err error) Outcome {
	switch {
	case err == nil:
		return OutcomeSuccess
	case CallerCanceled(ctx, err):
		return OutcomeIgnored
	case errors.Is(err, ErrRejected):
		return OutcomeRejected
	default:
		return OutcomeFailure
	}
}
