// Package budget caps retries and hedges as a share of traffic, so that a
// failing dependency is not hammered by every caller's extra attempts at
// once. A [Budget] is shared by the policies that call the same dependency:
// retry.WithBudget and hedge.WithBudget take the same value.
//
//	b := budget.NewToken(10, 0.1) // gRPC's retry throttling
//	r := retry.New(retry.WithBudget(b))
//	h := hedge.New(hedge.WithBudget(b))
//	p := bulwark.New(r, h) // a call is one request for b, through both
//
// # Two kinds
//
// Where the established libraries differ, bulwark offers both models:
//
//   - [NewToken] is gRPC's token bucket (proposal A6), history-based: each
//     failed attempt takes a token, each success gives back a fraction of
//     one, and extra attempts stop while half the bucket or less remains.
//     It follows the dependency's health: a healthy dependency keeps the
//     bucket full, whatever the traffic.
//   - [NewRatio] is a share of requests with a minimum rate, request-based:
//     each call deposits a fraction of a token and each extra attempt
//     withdraws one, so extra attempts stay within that fraction of the
//     traffic whatever the outcomes. failsafe-go's budget limits the share
//     of executions in flight instead; a ratio of requests needs no count
//     of calls in flight and holds over time.
//
// Token amounts are held in billionths, so the fractions users write (a
// ratio of 0.0005, a maxTokens of 0.5) are kept as given rather than
// truncated; an amount below a millionth of a token, which could not be
// held to better than 0.1%, is rejected when the budget is built, as is
// any other invalid value, by a panic naming the function and the value.
// The zero Token and the zero Ratio are valid but allow no extra attempt,
// as x/time/rate's zero Limiter rejects every event.
//
// # One request per call
//
// A retry around a hedge, or a hedge around a retry, both drawing from one
// budget, see the same call. If each recorded it, a 10% ratio would allow
// 20% extra attempts. Instead the outermost policy that draws from the
// budget records the call: its request, then the outcome of each of its
// attempts. It runs its attempts under a context that marks the call as
// recorded for that budget; the policies inside that draw from the same
// budget find the mark, record nothing, and only take their extra attempts
// from the budget (TryRetry). So a 10% budget shared by a retry and a
// hedge allows about 10% extra attempts in all, in either order.
//
// Marking costs nothing on the success path in the common cases. A budget
// built by this package counts the policies that draw from it ([Share]):
// used by one policy, it needs no mark and no context lookup. A hedge
// carries the mark in the attempt contexts it makes anyway. Only a retry
// that records a call for a budget other policies use too wraps the
// caller's context, one allocation of 32 bytes per call; a field carried by
// the pipeline instead would miss the policies nested through a protected
// function, which a context reaches.
//
// What is recorded follows the dependency, not the policies: a hedge that
// loses to a successful attempt, cancelled, is not a failed attempt; nor
// is a local rejection (bulwark.ErrRejected) or the caller's own
// cancellation. A call whose attempts all succeed leaves a Token bucket
// full.
//
// A policy written outside bulwark that draws from a Budget does it through
// a [Share] too, so that it counts once beside bulwark's own.
package budget
