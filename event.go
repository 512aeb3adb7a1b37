package bulwark

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark/internal/semconv"
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

var builtinEventNames = [numEventTypes]string{
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

// eventNames holds the names of every event type, the built-in ones and
// those of NewEventType: replaced whole under eventNamesMu, read without a
// lock.
var (
	eventNamesMu sync.Mutex
	eventNames   atomic.Pointer[[256]string]
)

func init() {
	var names [256]string
	copy(names[:], builtinEventNames[:])
	eventNames.Store(&names)
}

// NewEventType registers an event type of a policy written outside bulwark
// and returns it; name is its String form, the value of the bulwark.event
// attribute ("quota_refreshed"). Call it once per type, from a package
// variable's initialisation: there is room for 246 types besides bulwark's
// own. It panics if name is empty, already taken, or there is no room left.
func NewEventType(name string) EventType {
	if name == "" {
		panic("bulwark: NewEventType: name must not be empty")
	}
	eventNamesMu.Lock()
	defer eventNamesMu.Unlock()
	old := eventNames.Load()
	free := 0
	for i := 1; i < len(old); i++ {
		if old[i] == name {
			panic("bulwark: NewEventType: " + strconv.Quote(name) + " is already an event type")
		}
		if old[i] == "" && free == 0 {
			free = i
		}
	}
	if free == 0 {
		panic("bulwark: NewEventType: no room for " + strconv.Quote(name) + ": 255 event types exist")
	}
	names := *old
	names[free] = name
	eventNames.Store(&names)
	return EventType(free)
}

// String returns the event type's name as it appears in telemetry:
// "state_change", "retry", "rejected", "timeout", "fallback", "hedge",
// "exhausted", "budget_exceeded", "limit_change", or the name given to
// NewEventType; "unknown" for a type never registered.
func (t EventType) String() string {
	if n := eventNames.Load()[t]; n != "" {
		return n
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

// Observer receives events. It is called synchronously, never with a lock
// held, so it may call back into the policy (read a breaker's state, say):
// on the goroutine of the call that caused the event, or, for an event no
// call caused (a breaker's timer moving it to half-open), on the timer's
// goroutine. It must be safe for concurrent use and should return quickly.
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
			slog.String(string(semconv.AttrPolicy), e.Policy),
			slog.String(string(semconv.AttrEvent), e.Type.String()))
		if e.Name != "" {
			attrs = append(attrs, slog.String(string(semconv.AttrPolicyName), e.Name))
		}
		if e.Pipeline != "" {
			attrs = append(attrs, slog.String(string(semconv.AttrPipeline), e.Pipeline))
		}
		if e.Attempt > 0 {
			attrs = append(attrs, slog.Int(string(semconv.AttrAttempt), e.Attempt))
		}
		if e.Delay > 0 {
			attrs = append(attrs, slog.Duration(string(semconv.AttrDelay), e.Delay))
		}
		if e.From != "" || e.To != "" {
			attrs = append(attrs, slog.String(string(semconv.AttrStateFrom), e.From), slog.String(string(semconv.AttrStateTo), e.To))
		}
		if e.Reason != "" {
			attrs = append(attrs, slog.String(string(semconv.AttrReason), e.Reason))
		}
		if e.Limit > 0 {
			attrs = append(attrs, slog.Int(string(semconv.AttrLimit), e.Limit))
		}
		if e.Err != nil {
			attrs = append(attrs, slog.String(string(semconv.AttrError), e.Err.Error()))
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

// outcome classifies how a pipeline call ended, for the
// bulwark.call.duration histogram. The policies that learn from outcomes
// share the rule of internal/outcome instead.
type outcome uint8

const (
	outcomeSuccess outcome = iota
	outcomeFailure
	outcomeIgnored
	outcomeRejected
)

var outcomeNames = [...]string{"success", "failure", "ignored", "rejected"}

// classify returns the outcome of a call that returned err under ctx. The
// caller's own cancellation comes first: a timeout that fires after the
// caller has gone is the caller's business.
func classify(ctx context.Context, err error) outcome {
	switch {
	case err == nil:
		return outcomeSuccess
	case CallerCanceled(ctx, err):
		return outcomeIgnored
	case errors.Is(err, ErrRejected):
		return outcomeRejected
	default:
		return outcomeFailure
	}
}
