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
// The zero [Breaker] is ready to use, with New's defaults: it is configured
// on its first use. A Breaker is safe for concurrent use.
//
// # States
//
// A Breaker starts [Closed]: calls pass and their outcomes are recorded.
// When a trip rule fires it becomes [Open] and rejects calls with an error
// matching [ErrOpen] (and bulwark.ErrRejected) that carries the time left
// for bulwark.RetryAfter. The hint is true: when the open duration ends, a
// timer makes the breaker [HalfOpen], so that [Breaker.State] is right
// without waiting for a call, and a call that comes once the open time has
// passed makes it half-open itself if the timer has not run yet, so a
// caller that sleeps exactly the hint is admitted.
//
// Half-open, it admits k probes ([WithHalfOpenProbes], default 1),
// rejecting the others; it closes once enough of them succeeded
// ([WithHalfOpenSuccesses], [WithHalfOpenSuccessRatio]; default all k) and
// reopens as soon as that can no longer happen, so with the defaults the
// first failed probe reopens it. A half-open breaker waits for its first
// probe as long as it takes, with no timer: a breaker that opened during
// the night is half-open in the morning, and the first call is its probe,
// where a breaker that reopened when no probe came would cycle between
// open and half-open all night and reject the first calls of the morning.
//
// A probe under [Breaker.Execute] always reports its outcome, so it is
// never timed out: one slower than the open duration closes or reopens the
// breaker by its outcome. A probe admitted by [Breaker.AcquireInto] reports
// only if its caller calls [Permit.Done]; one that has not reported within
// [WithHalfOpenMaxWait] of its admission reopens the breaker, which frees
// every probe slot (as resilience4j's max wait does), and its late Done is
// dropped. That reopen counts for [WithOpenBackoff] like a failed probe.
//
// [Breaker.Isolate] forces the breaker open and [Breaker.Disable] makes it
// let everything through while still recording, both until
// [Breaker.Reset].
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
// The window holds the last n calls ([WithCountWindow], 100 by default, at
// most 1<<20) or the calls of the last span of time in buckets
// ([WithTimeWindow]); the ratio rules wait for [WithMinimumCalls] calls in
// it (the count window's size, or 20 for a time window). Ratios are
// inclusive: a ratio of 0.5 trips at exactly half. Rules are evaluated when
// a failure or a slow call is recorded, never on a fast success, so the
// call that opens a breaker is always one that went wrong; the open
// duration may grow across re-opens ([WithOpenBackoff]) and be jittered
// ([WithOpenJitter]). Durations saturate: an open duration of
// math.MaxInt64, jittered or grown, stays the longest Duration and never
// wraps around to a short one.
//
// # What counts as a failure
//
// The breaker reads outcomes as the outcome table in the bulwark package
// doc says. Successes: nil, and an error marked bulwark.Permanent (the
// dependency answered, definitively: a 404 is no sign of an outage).
// Failures: every other error, a timeout (timeout.ErrTimeout) included, and
// a panic, which propagates unchanged. Ignored, neither success nor
// failure: the caller's own cancellation or deadline (the caller's
// business, not the dependency's), a local rejection by another bulwark
// policy (bulwark.ErrRejected: a full bulkhead says nothing of the
// dependency, with or without a retry hint), and errors matched by
// [WithIgnoreIf]. An ignored probe frees its half-open slot.
// [WithFailureIf] decides for the errors that are not ignored.
//
// A panic has no duration: it is a failure, never a slow call.
//
// # Choices where breakers differ
//
// A failed probe reopens at once with the default success count (as in
// gobreaker and Polly); with a lower success count it reopens only when
// the count can no longer be reached (as failsafe-go does). One probe is
// admitted by default. Results of calls admitted before a state change
// (late results) are dropped: they never change the new state, as in
// gobreaker. Open becomes half-open at exactly the open duration, by the
// timer or by the first call after it. Only a two-step probe can time out
// a half-open breaker. Time windows use buckets aligned on multiples of the
// bucket width, and forget a bucket whole.
//
// # Cost
//
// On the closed success path with the default rule the breaker reads one
// atomic word, adds to a counter striped across cache lines, and writes
// nothing else unless a failure streak ends: no lock, no clock, no
// allocation, and cores do not trade cache lines. Window rules take a lock
// per recorded outcome; a time window or the slow rule reads the clock.
// Rejection allocates nothing: the open breaker's error is made once per
// open period; an open breaker reads the clock once per rejection, to
// admit the first call after the open time. [Breaker.AcquireInto] and
// [Permit.Done] serve code that cannot hand over a function, without an
// allocation either: the caller holds the Permit ([Breaker.Acquire]
// allocates one). A Permit is not safe for concurrent use, which spares
// every call an atomic instruction: two goroutines that may end one call
// report it through a sync.Once.
//
// A breaker with the default rule takes under 2 KiB at GOMAXPROCS 2, its
// striped counter included (a count window adds a byte a call). A
// dropped breaker is garbage-collected: its observable instruments hold it
// weakly and are unregistered when it is collected, and its only timer,
// pending while it is open or a two-step probe waits, holds it no longer
// than that. A breaker needs no Close.
//
// # Shared state
//
// [WithStore] shares a named breaker's state with the breakers of the
// same name in other instances through a [Store] (breaker/redisstore
// keeps it in Redis). When one opens on its own outcomes, it publishes the
// opening and the others open for the time it has left, within the
// store's sync interval, with [ReasonShared]; a close by successful probes
// is shared the same way. Half-open probes are counted by the fleet: a
// probe of a shared opening is admitted only if the store grants it one
// of the fleet's k probes, so the fleet sends at most k probes per shared
// opening and half-open wait, plus those of instances that decide alone:
// an instance that opened before the shared state reached it, or whose
// store cannot answer, admits up to k of its own. Isolate, Disable and
// Reset act on one instance and are not shared; an isolated or disabled
// breaker ignores the fleet. No lock is held across the protected call
// (gobreaker v2's distributed breaker holds a Redis lock for the whole
// call), and the closed path never calls the store: it stays lock-free,
// allocation-free and without a round trip, and transitions are published
// asynchronously. While the store cannot reach its backend, each breaker
// decides alone, and the store reports that it does.
//
// # Events
//
// Every transition is reported as bulwark.EventStateChange with From, To
// and Reason (ReasonConsecutiveFailures ...), and every rejection as
// bulwark.EventRejected with its error and, for an open breaker, the time
// left in Delay: counted in bulwark.events, added to the span of the call
// that caused it, and passed to observers, never with the lock held. Only real changes of state are events: [Breaker.Reset] of a closed
// breaker forgets what it recorded but reports nothing, and a second
// Isolate or Disable does nothing. A transition caused by a panicking call
// is reported in that call's pipeline and span; transitions made by the
// timer are reported in the pipeline of the breaker's last transition,
// with no span.
//
// An observer that panics on a transition caused by a call panics that
// call, once the transition is complete. Where no caller can take the
// panic, it is dropped after the transition completed, and the observers
// after it miss that one event: on the timer's goroutine, where it would
// end the process, and while a call's own panic unwinds, which reaches its
// caller unchanged.
//
// The breaker also exports bulwark.calls by outcome and the
// bulwark.breaker.state gauge (1 for the current state), read at
// collection time, from one registration. [Breaker.Status] returns the
// state, the counts by outcome and the time until half-open in the shape
// every bulwark policy shares, without a lock; [Breaker.Snapshot] adds the
// window's counts and the half-open period's.
package breaker
