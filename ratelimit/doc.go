// Package ratelimit limits the rate of calls: a token bucket ([New]), a
// sliding-window counter for limits thought of as "n per window"
// ([NewSlidingWindow]), and per-key token buckets with bounded memory
// ([NewKeyed]). Limits are golang.org/x/time/rate's [rate.Limit] (tokens a
// second, [rate.Inf] for none, [rate.Every] to convert an interval).
//
//	lim := ratelimit.New(100, 20) // 100 calls a second, bursts of 20
//	err := lim.Execute(ctx, func(ctx context.Context) error { return call(ctx) })
//	if errors.Is(err, ratelimit.ErrLimited) {
//		d, _ := bulwark.RetryAfter(err) // when a token will be there
//	}
//
// # The bound
//
// A bucket of limit r and burst b admits at most r·t + b calls over any
// interval of length t, however many goroutines call it at once and
// however late their clock readings reach it, and an idle bucket refills
// to b. The bucket starts full, as x/time/rate's does.
//
// The bucket is not x/time/rate's Limiter, though it keeps its model.
// That Limiter is handed a time read before its lock; when a reading older
// than one it has seen arrives (a goroutine read the clock, then waited
// for the lock), it moves its clock back and counts the time in between
// twice, and a cancelled reservation that is not the last one gives back
// less than it took. Under contention, waiting callers were admitted far
// beyond the limit. Using it correctly would take a second lock around
// every call with the clock read inside it, which costs more than the
// bucket itself. The bucket here is one integer, the time it will be full
// again, moved forward with one compare-and-swap (the generic cell rate
// algorithm): a stale reading takes its token as of that earlier time and
// nothing is counted twice, with no lock and no allocation.
//
// A token's refill time is a whole number of nanoseconds, rounded up, so
// the bucket never refills faster than its limit: below a million a
// second the limit is rounded down by less than 0.1%, and above 10^9 a
// second it acts as 10^9 a second. A burst larger than 2^50 counts as 2^50
// tokens, and a burst whose refill time exceeds 2^61 ns (73 years) is
// counted in coarser time, rounding the limit down by at most 0.1%. A
// limit of zero hands out the burst and then rejects without a hint; a
// limit so low that a token takes more than 2^62 ns (146 years, below
// about 2.2e-10 a second) hands out the burst and then rejects with a hint
// of math.MaxInt64. Every wait saturates at math.MaxInt64 instead of
// overflowing.
//
// # Rejecting or waiting
//
// By default a call over the limit is rejected at once, as failsafe-go and
// Polly do, with an error that matches [ErrLimited] and bulwark.ErrRejected
// and carries the time until a token is available: a caller that sleeps
// exactly that long and nothing else took the token is admitted. A
// rejection allocates nothing: its error holds the limiter (or the key's
// entry) and reads the hint from it when asked, so that read at once it
// is the wait the rejection saw, and read later the time left from then.
// [WithMaxWait] lets a call wait for its token instead, up to a bound and
// never past the caller's deadline; a rejected call takes nothing, so
// rejections never push the bucket into debt. A wait the caller cancels
// gives its token back when no later call has taken its turn behind it;
// otherwise its turn passes unused (the bucket admits one call fewer,
// never one more). [Limiter.SetLimit] and [Limiter.SetBurst] change the
// bucket at run time and keep its tokens (a bucket leaving rate.Inf starts
// full); a finite limit with a burst below 1 is refused, since it would
// reject every call.
//
// # Keys
//
// [NewKeyed] reads a key from each call's context and keeps a token bucket
// per key, of the same arithmetic as [New]'s. Memory is bounded: at most
// [WithMaxKeys] keys are remembered (10000 by default). A key is forgotten
// only to make room for a new one once that many are remembered, or when
// it has been idle for [WithIdleExpiry] (10 minutes) and its bucket is
// full again. Forgetting a key forgets its bucket, so only a key evicted at
// the bound can come back to a fresh burst; keys in use stay at the front
// of the least-recently-used order and survive a flood of new keys.
//
// How many locks hold the keys depends on the bound, not on the keys
// remembered: a Keyed whose WithMaxKeys is 1024 or more (the default
// among them) spreads its keys over 16 locks by a hash of the key, each
// with its own least-recently-used order, so that the key evicted is the
// least recently used of the new key's lock; below 1024, one lock holds
// every key and the order is exact. A call for a known key costs one
// lock, one map lookup and no allocation. A remembered key costs under
// 160 bytes besides the key itself; an unlimited Keyed remembers none.
//
// # Zero values
//
// The zero Limiter, SlidingWindow and Keyed have no limit to apply: their
// Execute runs nothing and returns an error matching [ErrZeroValue] that
// names the type, and their snapshots are zero. Build them with [New],
// [NewSlidingWindow] and [NewKeyed]. Every limiter is safe for concurrent
// use.
//
// # Events
//
// Each rejection is reported as bulwark.EventRejected with Delay set to the
// hint: counted in bulwark.events per limiter and never per key (key values
// are unbounded), added to the call's span and passed to observers, when
// anything listens. Each limiter counts its rejections and exports them as
// its bulwark.calls series (outcome "rejected"), read at collection time;
// allowed calls are not counted, so that the Allow path stays one clock
// reading and one compare-and-swap. Status returns the rejections and the
// tokens in the shape every bulwark policy shares, Snapshot the limiter's
// own figures. The series holds its limiter weakly: a dropped limiter is
// garbage-collected, with or without an SDK, and needs no Close. At
// GOMAXPROCS 2 without an SDK a used Limiter or SlidingWindow holds about
// 1.4 KiB (its bulwark.calls registration about 600 bytes of it, its
// striped count of rejections 256) and a Keyed about 3.5 KiB besides its
// keys (16 locks from 1024 keys of WithMaxKeys on); an SDK's record of the
// registration adds about 1.7 KiB.
package ratelimit
