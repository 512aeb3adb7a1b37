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
// A caller whose context ends leaves at once with ctx.Err(), the leader
// as well as a waiter; the call goes on for the others. The call runs
// under a context of its own: it carries the leader's values (its span,
// its baggage) but neither its deadline nor its cancellation, and it is
// cancelled when every caller has left, the leader included, and once the
// call has returned. One impatient caller, the leader included, does not
// fail the rest, and the rest do not hold it past its own deadline: a
// waiter without a deadline does not keep a leader with one waiting for
// as long as the call runs. A call that nobody waits for any more is
// cancelled, and winds down on its own. A caller who comes while such a
// call winds down does not join it: it starts a call of its own. To bound
// the shared call, put a timeout inside the Coalesce; one outside bounds
// each caller's wait. A caller whose context has already ended runs
// nothing and gets ctx.Err().
//
// Where the call runs follows from that. A leader whose context cannot
// end (its Done is nil: context.Background and the contexts derived from
// it by WithValue alone) can never leave, so it runs the call on its own
// goroutine, as singleflight's Do does: no goroutine is started. A leader
// whose context can end runs the call on a goroutine of its own and waits
// for it as a waiter does, so that it can leave, as singleflight's DoChan
// does for every call. That costs a goroutine start and a channel per such
// call: in BenchmarkLeader, on a shared 2-vCPU VM, about 1µs and four
// allocations a call, against 0.3µs and two for a leader whose context
// cannot end. It is small beside a call worth sharing (a load from a
// database or another service), and it is the only way a leader can leave
// a call it would otherwise be running: a function cannot be moved off
// the goroutine it runs on. Running the call on the leader's goroutine
// and cancelling it when the leader leaves would fail the waiters instead;
// running it there and restarting it for the waiters would repeat it,
// under the load that made it worth sharing.
//
// # Errors and panics
//
// An error is shared: every waiter receives the very error the call
// returned. A panic in the call reaches the leader as the panic itself,
// unchanged, and every waiter as a [*PanicError] holding the value and the
// stack; a runtime.Goexit in the call (t.FailNow) fails the waiters with
// an error while the leader's goroutine exits too. When the call ran
// apart, the leader raises the panic again on its own goroutine, or exits
// it, if it is still waiting; a panic in a call that every caller has
// left is nobody's to receive, and crashes the program as an unrecovered
// panic on any goroutine does (as under timeout.WithAbandon). panic(nil) is a
// panic: a *runtime.PanicNilError, or, in a program run with
// GODEBUG=panicnil=1, a nil value that recover cannot tell from a Goexit;
// the Coalesce tells them apart by whether the call's goroutine goes on,
// and the leader then panics with nil again while each waiter receives a
// *PanicError whose Value is nil, never a success. singleflight
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
// leader always refreshes, as it runs any call; nothing else runs in the
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
// hiding of the leader's cancellation); under a context that can end, two
// more and a goroutine (the call runs apart: see above). A waiter costs a
// lock and a channel wait, and allocates nothing under Execute (the first
// waiter of a call makes the channel they all wait on, unless the leader
// made it). Get adds, for
// every caller, bulwark.Get's two allocations and two of its own (the
// holder of the value and the closure around the function).
//
// # Zero value
//
// The zero Coalesce has no key function: it runs every call on its own. A
// Coalesce is safe for concurrent use.
package coalesce
