// Package coalesce makes concurrent calls with the same key share one
// execution and its outcome, so that a thousand requests for a cache entry
// that just expired rebuild it once (cache-stampede protection), as
// golang.org/x/sync/singleflight does, with contexts and without boxing
// results.
//
//	users := coalesce.New(func(ctx context.Context) string { return userID(ctx) })
//	u, err := coalesce.Get(ctx, users, func(ctx context.Context) (User, error) {
//		return loadUser(ctx, userID(ctx)) // runs once for all the callers of this ID
//	})
//
// The key function reads the key from each call's context; an empty key
// shares nothing (that call runs on its own), so that calls whose context
// carries no key are never handed each other's results. The first caller
// of a key, the leader, runs the call; those that come while it runs wait
// for its outcome. A key is forgotten as soon as its call returns: memory
// is bounded by the calls in flight, and the map of keys is replaced once
// most keys of a burst are gone, since a Go map never gives back its
// buckets.
//
// # How the result reaches every caller
//
// A waiter's own function never runs, so a result it would have written
// into a variable of its own is not written. Under Execute, what the call
// shares is its outcome and its effect: the leader's call stores the entry
// in the user's cache, and every caller reads it there once Execute has
// returned nil. [Get] shares the value: it is bulwark.Get (a fallback
// around the Coalesce can still hand its value over with bulwark.Supply),
// with the leader's value kept where the Coalesce finds it and supplied to
// each waiter. There is no boxing of the value in an interface, as
// singleflight's func() (any, error) has, and no type assertion: callers
// of one key should all use Get with the same type, and a waiter that
// cannot receive a value of its type (the leader used Execute, or Get of
// another type) gets [ErrNoValue], never a silent zero value. Under
// bulwark.Get, a waiter receives the value only if the leader used Get.
//
// # Leaving, cancellation and the shared context
//
// A waiter whose context ends leaves at once with ctx.Err(); the call goes
// on for the others. The call runs under a context of its own: it carries
// the leader's values (its span, its baggage) but neither its deadline nor
// its cancellation, and it is cancelled when every caller has left, the
// leader included, and once the call has returned. One impatient caller,
// the leader included, does not fail the rest; a call that nobody waits
// for any more is cancelled. A caller who comes while such a call winds
// down does not join it: it starts a call of its own. To bound the shared
// call, put a timeout inside the Coalesce; one outside bounds each caller's
// wait.
//
// The leader runs the call on its own goroutine, as singleflight's Do
// does, so that the Coalesce starts no goroutine: it cannot return before
// the call does. When its context ends while others wait, the call goes on
// for them and the leader, once it returns, gets ctx.Err() like any caller
// whose context ended first. A caller whose context has already ended
// runs nothing and gets ctx.Err().
//
// # Errors and panics
//
// An error is shared: every waiter receives the very error the call
// returned. A panic in the call reaches the leader as the panic itself,
// unchanged, and every waiter as a [*PanicError] holding the value and the
// stack; a runtime.Goexit in the call (t.FailNow) fails the waiters with
// an error while the leader's goroutine goes on exiting. singleflight
// instead panics in every waiter too (and exits in every waiter on a
// Goexit), so that one bug crashes a process once per caller.
//
// # Stale while revalidate
//
// [WithStaleWhileRevalidate] lets a caller that finds a call in flight
// return at once with the stale value the user's cache still holds,
// instead of waiting, while the leader refreshes it. The cache stays the
// user's: the option takes a lookup, func(ctx, key) (value T, expired
// time.Time, ok bool), that reads it, and the protected call stores the
// fresh value as it would without the option. A value that expired less
// than the window ago is served: Get returns it, Execute returns nil. The
// leader always refreshes, on its own goroutine; nothing runs in the
// background.
//
// # Counts, events and cost
//
// [Coalesce.Status] returns, in the shape every policy shares, InFlight
// the keys with a call in flight and Queued the callers waiting for them;
// [Coalesce.Snapshot] adds the calls run, the callers that received a
// shared outcome, those served stale values and those that left. Each
// waiter that receives a shared outcome is reported as [EventShared]
// ("shared", Err the outcome's error), each stale value served as
// [EventStale] ("stale").
//
// A call that is not shared costs one lock, one map insert and delete,
// and two allocations (the call, which is its own shared context, and the
// hiding of the leader's cancellation); three more under a context that
// can be cancelled (the watch on it, context.AfterFunc). A waiter costs a
// lock and a channel wait, and allocates nothing under Execute (the first
// waiter of a call makes the channel they all wait on). Get adds, for
// every caller, bulwark.Get's two allocations and two of its own (the
// holder of the value and the closure around the function).
//
// # Zero value
//
// The zero Coalesce has no key function: it runs every call on its own. A
// Coalesce is safe for concurrent use.
package coalesce
