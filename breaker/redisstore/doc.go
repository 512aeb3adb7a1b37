// Package redisstore shares circuit-breaker state across the instances of
// a service through Redis: a [Store] for breaker.WithStore.
//
//	st := redisstore.New(client) // any go-redis client
//	defer st.Close()
//	b := breaker.New(breaker.WithName("inventory"), breaker.WithStore(st))
//
// When one instance's breaker named "inventory" opens on its own
// outcomes, its store writes the opening to Redis at once (a script that
// numbers it and stores its end on the server's clock); every store reads
// the shared state of its names each sync interval ([WithSyncInterval],
// default 1s, at least 1ms: a shorter one would sync back to back, each
// sync a round trip, for no fresher state), and its breakers open for the
// time the opening has left.
// An opening therefore reaches every instance within one sync interval and
// a round trip. A close by successful probes is shared the same way.
//
// # Half-open probes
//
// Once a shared opening has passed, each instance is half-open, and a
// probe is admitted only if Redis grants it one of the fleet's k probes
// (breaker.WithHalfOpenProbes) for that opening: one INCR on a key of the
// opening that expires after the breaker's half-open wait, so that a probe
// held by an instance that died frees itself. An instance that Redis
// refused rejects its calls locally until that wait has passed, and then
// asks again: a half-open breaker sends Redis about one INCR per half-open
// wait, however many calls it rejects. The fleet sends at most k
// probes per shared opening and half-open wait, plus those of instances
// that decide alone (an instance whose store cannot answer, or that opened
// before the shared state reached it, admits up to k of its own). No lock
// is held across the protected call, unlike gobreaker v2's distributed
// breaker, which holds a Redis lock for the whole call.
//
// # Cost
//
// The closed path of a breaker with a store is the closed path of a
// breaker without one: no lock, no allocation, no Redis command. A
// store's Redis traffic is one script per watched name per sync interval,
// one script per transition its breakers publish (both pipelined, at most
// 256 scripts per round trip, so that thousands of breakers opening
// together still fit the timeout), and one INCR per half-open probe (a
// breaker refused one rejects locally until the half-open wait has
// passed, without asking again). Each round trip is bounded by
// [WithTimeout] on its own (default 100ms; for a *redis.Client even when
// its ContextTimeoutEnabled is off, through Client.WithTimeout, which
// shares its pool and hooks; a cluster or ring client needs
// ContextTimeoutEnabled for the bound to cut a read short, else its own
// ReadTimeout applies, but no breaker call ever waits for a sync). The first round trip of a sync that fails ends it: a hung Redis
// costs a sync one timeout, and what was not written waits for the next.
//
// # Redis unavailable
//
// While Redis fails or hangs, each breaker decides alone, as a breaker
// without a store does; the store reports [EventDegraded] (with the
// cause) when that begins and [EventRecovered] when Redis answers again,
// sets the bulwark.redis.degraded gauge to 1 meanwhile, and shows
// "degraded" in its Status. A half-open probe's request while Redis is
// known to be away returns at once, so the probe is admitted locally; a
// probe's request that the caller's deadline ends counts as Redis not
// answering, as one the timeout ends does. The latest transition of each
// name that could not be written is written once Redis answers. Recovery
// is automatic. Redis refusing a script at one name's key (WRONGTYPE:
// another program wrote it) is not Redis being away: that name's
// transition is dropped, its state is not read and its probes are decided
// alone, and the store stays healthy for the others.
//
// # Zero value
//
// The zero Store shares nothing: breakers given it decide alone, its
// Close does nothing. A Store is safe for concurrent use and must be
// closed to stop its goroutine.
package redisstore
