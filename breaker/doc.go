// Package breaker is a circuit breaker: it stops calling a dependency that
// keeps failing, and lets a few probes through after a while to see whether
// it has recovered.
//
//	b := breaker.New(
//		breaker.WithConsecutiveFailures(5),
//		breaker.WithOpenDuration(30*time.Second),
//	)
//	err := b.Execute(ctx, func(ctx context.Context) error { return callInventory(ctx) })
//	if errors.Is(err, breaker.ErrOpen) {
//		d, _ := bulwark.RetryAfter(err) // how long until it lets probes through
//	}
//
// # States
//
// A Breaker starts [Closed]: calls pass and their outcomes are recorded.
// When a trip rule fires it becomes [Open] and rejects calls with an error
// matching [ErrOpen] (and bulwark.ErrRejected) that carries the time left
// for bulwark.RetryAfter. When the open duration ends, a timer makes it
// [HalfOpen] at once, so [Breaker.State] is right without waiting for a
// call. Half-open, it admits k probes ([WithHalfOpenProbes], default 1),
// rejecting the others; it closes once enough of them succeeded
// ([WithHalfOpenSuccesses], [WithHalfOpenSuccessRatio]; default all k) and
// reopens as soon as that can no longer happen, so with the defaults the
// first failed probe reopens it. A half-open period whose probes do not
// decide within [WithHalfOpenMaxWait] reopens too, which reclaims the slots
// of probes that never reported. [Breaker.Isolate] forces it open and
// [Breaker.Disable] makes it let everything through while still recording,
// both until [Breaker.Reset].
//
// # Trip rules
//
// Any configured rule opens the breaker:
//
//   - [WithConsecutiveFailures]: n failures in a row, on the nth (the only
//     rule when none is configured, with n = 5);
//   - [WithFailureRatio]: failures make up at least the ratio of the calls
//     in the window;
//   - [WithSlowCalls]: calls slower than a threshold, failed or not, make
//     up at least the ratio of the calls in the window.
//
// The window holds the last n calls ([WithCountWindow], 100 by default) or
// the calls of the last span of time in buckets ([WithTimeWindow]); the
// ratio rules wait for [WithMinimumCalls] calls in it (the count window's
// size, or 20 for a time window). Ratios are inclusive: a ratio of 0.5
// trips at exactly half. Rules are evaluated when a failure or a slow call
// is recorded, never on a fast success, so the call that opens a breaker is
// always one that went wrong; the open duration may grow across re-opens
// ([WithOpenBackoff]) and be jittered ([WithOpenJitter]).
//
// # What counts as a failure
//
// By default every error is a failure, bulwark.Permanent errors and
// timeouts (an inner timeout.ErrTimeout) included, and a panic is a failure
// that propagates. Three kinds of outcome are ignored, neither success nor
// failure: the caller's own cancellation or deadline (the caller's
// business, not the dependency's), local rejections by other bulwark
// policies that are not timeouts (a full bulkhead says nothing of the
// dependency), and errors matched by [WithIgnoreIf]. An ignored probe frees
// its half-open slot. [WithFailureIf] decides for the rest.
//
// # Choices where breakers differ
//
// A failed probe reopens at once with the default success count (as in
// gobreaker and Polly); with a lower success count it reopens only when
// the count can no longer be reached (as failsafe-go does). One probe is
// admitted by default. Results of calls admitted before a state change
// (late results) are dropped: they never change the new state, as in
// gobreaker. Open becomes half-open at exactly the open duration. Time
// windows use buckets aligned on multiples of the bucket width, and forget
// a bucket whole.
//
// # Cost
//
// On the closed success path with the default rule the breaker reads one
// atomic word, adds to a counter striped across cache lines, and writes
// nothing else unless a failure streak ends: no lock, no clock, no
// allocation, and cores do not trade cache lines. Window rules take a lock
// per recorded outcome; a time window or the slow rule reads the clock.
// Rejection allocates nothing: the open breaker's error is made once per
// open period. [Breaker.Acquire] and [Permit.Done] serve code that cannot
// hand over a function.
//
// # Events
//
// Every transition is reported as bulwark.EventStateChange with From, To
// and Reason (ReasonConsecutiveFailures ...), and every rejection as
// bulwark.EventRejected: counted in bulwark.events, added to the span of
// the call that caused it, and passed to observers, never with the lock
// held. Transitions made by the timer are reported in the pipeline of the
// breaker's last transition, with no span. The breaker also exports
// bulwark.calls by outcome and the bulwark.breaker.state gauge (1 for the
// current state), read at collection time. [Breaker.Snapshot] returns the
// same figures for a dashboard.
package breaker
