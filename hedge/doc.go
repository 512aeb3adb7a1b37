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
// timeouts: an attempt that ignores its context delays the return). A
// failure does not end hedging: it launches the next hedge at once, as gRPC
// and Polly do (failsafe-go instead takes the first outcome of any kind).
// When every attempt failed, the errors are joined (errors.Join), so
// errors.Is finds each. A bulwark.Permanent error and the caller's own
// cancellation end hedging at once and are returned as they are.
//
// # Delay
//
// The delay is fixed ([WithDelay], default 100ms) or follows recent
// latency: [WithLatencyQuantile] hedges at a quantile (p95, say) of the
// latencies of the last window of successful calls, never below a floor.
// Latencies are recorded without locks; the quantile is recomputed every
// quarter window by one caller, on a copy, and read with one atomic load.
//
// # Cost
//
// When the answer comes before the delay, a call allocates one object
// (about 200 bytes) and reuses a pooled timer: no goroutine, no channel. The
// attempt's cancellable context is made only when the attempt watches its
// context (calls Done), which costs three more allocations, those of
// context.WithCancel. A hedge that fires costs a goroutine and a context per
// extra attempt. [WithBudget] takes every hedge from a retry budget shared
// with retry policies.
//
// # Events
//
// Each hedge launched is reported as bulwark.EventHedge (Attempt: its
// number, the first attempt being 1; Delay), and a hedge the budget refused
// as bulwark.EventBudgetExceeded: counted in bulwark.events, added to the
// call's span ("bulwark.hedge", "bulwark.hedge.budget_exceeded") and passed
// to observers.
package hedge
