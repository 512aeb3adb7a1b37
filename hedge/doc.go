// Package hedge sends extra attempts of a slow call, so that one slow
// server does not make the caller slow: after a delay without an answer,
// another attempt is launched beside the first, up to a number of hedges,
// and the first success wins.
//
//	h := hedge.New(hedge.WithDelay(50*time.Millisecond), hedge.WithMaxHedges(2))
//	user, err := bulwark.Get(ctx, h, func(ctx context.Context) (User, error) { return load(ctx, id) })
//
// Hedge only idempotent calls: every attempt may reach the dependency.
//
// # Outcome
//
// The first success wins; the other attempts are cancelled through their
// contexts, and Execute returns once every attempt has returned, so no
// goroutine outlives the call (cancellation is cooperative, as for
// timeouts: an attempt that ignores its context delays the return). Every
// attempt's context, the winner's too, is cancelled once its attempt has
// returned, as a timeout's is once its call has: a goroutine an attempt
// starts with it sees Done close whether it asks for Done before or after
// the call ends, and a context kept past its call keeps its values and
// deadline. A failure does not end hedging: it launches the next hedge at once, as gRPC
// and Polly do (failsafe-go instead takes the first outcome of any kind).
// A bulwark.Permanent error and the caller's own cancellation end hedging
// at once and are returned as they are.
//
// A local rejection by a policy inside the hedge (an error matching
// bulwark.ErrRejected: a full bulkhead, an open breaker) says nothing of
// the dependency, which was not asked: it is not hedged. A rejected primary
// is returned at once; a rejected attempt beside others neither ends the
// call nor launches the next hedge early, and the call goes on with the
// attempts in flight. When every attempt failed, the dependency's failures
// are joined (errors.Join), so errors.Is finds each; rejections are left
// out of that result when there is a failure, so that a retry or a breaker
// outside sees the failure, and are the result when nothing else came.
//
// # Panics
//
// A panic in any attempt, on the caller's goroutine or on a hedge's, is
// raised again from Execute on the caller's goroutine with its value
// unchanged, after the timer is stopped and every other attempt has been
// cancelled and has returned: a panicking hedge never kills the process,
// and nothing runs after Execute has returned or panicked. Of several
// panics, the first is raised; a panic is raised even when another attempt
// had already won, since it is a bug in the protected function, not an
// outcome. A panic in the budget or in an observer, which may run on the
// timer's or a hedge's goroutine, is raised the same way. Under
// GODEBUG=panicnil=1, panic(nil) is a panic too, although recover reports
// it as nil, as it does for runtime.Goexit; a Goexit ends its goroutine
// alone: in a hedge it decides nothing, in the primary it ends the
// caller's goroutine once every hedge has been cancelled and has returned.
//
// # Delay
//
// The delay is fixed ([WithDelay], default 100ms) or follows recent
// latency: [WithLatencyQuantile] hedges at a quantile (p95, say) of the
// latencies of the last window of successful attempts, never below a
// floor. Which attempts count follows the outcome table in the bulwark
// package doc, adjusted by [WithFailureIf] and [WithIgnoreIf]: the latency
// of an attempt that ends before the call is decided is recorded when its
// outcome is a success (nil, or a bulwark.Permanent answer, which is the
// dependency's); failures are not (a fast refusal says nothing of how long
// an answer takes), nor ignored outcomes (the caller's cancellation, a
// rejection), nor the cancelled losers. Latencies are recorded without
// locks; the quantile is recomputed every quarter window by one caller, on
// a copy, and read with one atomic load.
//
// # Budget
//
// [WithBudget] takes every hedge from a budget.Budget shared with retry
// policies. A call is one request for the budget however many of the
// policies drawing from it it passes through: the outermost records it, and
// a hedge that does marks its attempts' contexts for the policies inside
// at no cost (see the budget package). The outcomes recorded are those of
// the dependency: a success, or a failure that launches the next hedge; a
// hedge that loses to a successful attempt, cancelled, is not a failed
// attempt, so a call whose attempts all succeed leaves a token bucket
// full. The budget is the user's code: the hedge never calls it with a lock
// held.
//
// # Cost
//
// When the answer comes before the delay, a call reuses a timer from the
// Hedge's pool and starts no goroutine. The primary attempt's context (24
// bytes) comes from a block of 16 that the timer holds: one call in 16
// allocates a block (384 bytes), since an allocation per call would cost
// nearly half as much as arming and stopping the timer, which is most of
// the cost (BenchmarkNotFiring beside its reference,
// BenchmarkTimerResetStop). Each context serves one call only; one kept
// past its call keeps its block reachable, and with it the parent contexts
// of up to 15 other calls; a pooled timer keeps those of its block's last
// calls until the block is used up or the collector empties the pool
// (sync.Pool's two cycles). (In tests with testing/synctest, whose timers
// belong to their bubble, build the Hedge inside the bubble.) The
// attempt's cancellable context is made only when the attempt watches its
// context (calls Done), which costs four allocations: those of
// context.WithCancel and the attempt's hold on it. A timer that fired is
// not reused (its callback may still read the call it was armed for), so a
// hedge that fires costs a new timer, a goroutine and a context per extra
// attempt.
//
// The zero Hedge works as New() with no options. A Hedge is safe for
// concurrent use.
//
// # Counts
//
// A Hedge counts, beyond the common path of a primary that answers in
// time, the hedges it launches, the calls whose every attempt that reached
// the dependency failed (the calls that return the dependency's failures)
// and the hedges its budget refuses. [Hedge.Snapshot] returns them with
// the budget's level; [Hedge.Status] returns them in the shape every
// bulwark policy shares (bulwark.Status: Failures; Hedges; Tokens). The
// failed calls are also the bulwark.calls series with outcome "failure",
// the only one a Hedge exports. A call decided by a success, a
// bulwark.Permanent answer or the caller's cancellation is not counted,
// nor one whose attempts were all rejected by a policy inside. Every zero
// Hedge counts its own calls.
//
// # Events
//
// Each hedge launched is reported as bulwark.EventHedge (Attempt: its
// number, the first attempt being 1; Delay: the call's hedge delay, which
// a hedge launched by a failure did not wait), and a hedge the budget
// refused as bulwark.EventBudgetExceeded (Attempt: the number it would
// have had): counted in bulwark.events, added to the call's span
// ("bulwark.hedge", "bulwark.hedge.budget_exceeded") and passed to
// observers. Each event is built only when something listens.
package hedge
