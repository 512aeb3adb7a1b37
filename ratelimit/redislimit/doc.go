// Package redislimit is a rate limiter whose token bucket lives in Redis,
// so that every instance of a service shares one limit.
//
//	lim := redislimit.New(client, 100, 20) // 100 calls a second for the fleet, bursts of 20
//	err := lim.Execute(ctx, func(ctx context.Context) error { return call(ctx) })
//	if errors.Is(err, ratelimit.ErrLimited) {
//		d, _ := bulwark.RetryAfter(err) // when a token will be there
//	}
//
// client is any go-redis v9 client (redis.UniversalClient: a single node,
// a cluster, a sentinel failover client, a ring). The limiter never closes
// it.
//
// # The decision
//
// Each decision is one Lua script, run with EVALSHA (go-redis's Script.Run
// falls back to EVAL when the server answers NOSCRIPT, after a restart or
// SCRIPT FLUSH). The script applies the generic cell rate algorithm, the
// same arithmetic as ratelimit.New's bucket, to one key that holds the
// time at which the bucket is full again, in microseconds of the server's
// clock (TIME), so the instances' clocks never matter. Over any interval
// of length t the fleet admits at most limit × t + burst calls (tested:
// 4 clients × 8 goroutines on one key for 5s at 1000/s with a burst of
// 1000 admit limit × T + burst within 2%; runs here measured -0.07% to
// -0.20%). A bucket's key expires when the bucket is full again, so
// Redis holds only the keys used within a burst's refill time. The script
// counts microseconds, so a finite limit is at most 1e6 a second. An
// infinite limit, rate.Inf or +Inf (both mean no limit, as for
// ratelimit.New), admits every call at once, whatever the key, the lease
// or the fail mode, and sends Redis nothing.
//
// Keys: without [WithKey] every call shares one bucket; with it each key
// read from the call's context has its own. A bucket's Redis key is
// prefix + "{" + escaped key + "}" ([WithPrefix], default
// "bulwark:ratelimit:"): the braces are a Redis Cluster hash tag, and the
// user's key is escaped (bytes outside [A-Za-z0-9._:-] become %XX) or,
// past 128 bytes, replaced by its SHA-256, so no key can carry Redis
// syntax, a hash tag of its own or an unbounded length.
//
// # Bounded decisions
//
// A decision's round trip is bounded by [WithTimeout] (default 50ms) and
// by the caller's deadline, without a goroutine per call: the limiter
// gives go-redis a context with the earlier of the two deadlines. For a
// *redis.Client that holds whatever the client's ContextTimeoutEnabled
// says: the limiter's commands go through Client.WithTimeout (the same
// pool and hooks; the user's client is not changed) with context
// deadlines applied to reads and writes, so even a hung server (SIGSTOP:
// it accepts connections and answers nothing) costs a decision at most
// the bound (measured: 301ms for a 300ms timeout, 31ms for a 30ms caller
// deadline, with the client's own timeouts at 10s). A cluster or ring
// client has no such view: its reads stop at the deadline only if it was
// built with ContextTimeoutEnabled, and at its ReadTimeout (go-redis's
// default 3s) otherwise; pool waits and go-redis's retries stop at the
// deadline either way.
//
// A caller whose own deadline ends the round trip gets ctx.Err(), and
// the round trip counts as Redis not answering, as one the timeout ends
// does: with callers' deadlines shorter than the timeout, a hung Redis
// would otherwise never be found out, and every call would wait out its
// deadline instead of the fail mode deciding. A caller that cancels its
// context gets ctx.Err() too, and that says nothing of Redis; go-redis
// ends a read at its deadline, not at a cancellation, so a cancelled
// caller's round trip may last until the timeout.
//
// # When Redis cannot be asked
//
// A round trip that fails or times out (by WithTimeout or the caller's
// deadline) makes the limiter degraded: it reports [EventDegraded] (with
// the cause), sets the bulwark.redis.degraded gauge to 1 and shows
// "degraded" in its Status, and [WithFailMode] decides: [FailLocal] (the
// default) with a token bucket per key in the instance, at the share of
// the limit and burst that [WithLocalShare] gives (all of it by default:
// with n instances, 1/n keeps the fleet near the limit), which decides n
// tokens all or none as Redis does, remembers at most 10000 keys
// (forgetting full buckets first; a forgotten key finds a full bucket)
// and reports nothing of its own: its rejections are the limiter's;
// [FailOpen] admits; [FailClosed] rejects with an error that matches
// ratelimit.ErrLimited and wraps Redis's error. While degraded, decisions
// are made at once, without waiting for Redis, and one call per two
// timeouts asks Redis again; its answer ends the degraded state with
// [EventRecovered]. Recovery needs nothing from the user, a new server on
// the same address included (measured in the kill drill: every call
// returned within its 200ms deadline, the worst after 51ms, in each fail
// mode, and decisions were global again once a new server started).
//
// Redis refusing the script at a key is not Redis being away: for
// WRONGTYPE (another program wrote the key: give the limiter a prefix of
// its own), NOPERM (the ACL forbids the key or EVALSHA) or an error
// raised while the script ran, the fail mode decides that call, with
// Result.Degraded set and FailClosed's error wrapping Redis's, but the
// limiter does not become degraded, and the other keys are still decided
// in Redis.
//
// # Leases
//
// [WithLease] (n) lets an instance take up to L tokens in one round trip
// and spend them locally, one compare-and-swap each, with no allocation,
// where L = min(n, burst, limit × 1s): a lease holds no more than the
// limit brings in its lifetime, so that one spent at the limit's pace is
// spent before it expires. A refill takes what the bucket holds, up to L,
// when it holds at least one token (a lease is never all or none), and
// one call at a time refills an instance's lease of a bucket. Unspent
// tokens expire one second after they were leased. A refill that finds
// the bucket short (no token, or fewer than L) makes the instance leave
// Redis alone for one token's refill time, doubled with each such refill
// in a row up to L tokens' refill time, and reject locally meanwhile
// with that wait as the hint; a refill that gets L tokens ends it. Under
// contention each instance thus asks Redis about once per L tokens'
// refill time. The price is that an instance that leases, sharing a
// bucket under contention with instances that do not (and ask Redis on
// every call), gets less of it than they do.
//
// Since each instance holds at most one lease of a bucket, the fleet
// admits at most limit × t + burst + instances × L calls over any
// interval of length t: that is the price of dividing Redis traffic by up
// to L (measured, 4 instances, lease 100 at 2000/s: admitted within the
// bound, and under 0.01 Redis commands per decision, the script's own
// TIME, GET and SET counted; at 20/s with a burst of 200, the fleet
// admitted limit × T + burst within the L tokens that may wait in Redis
// while every instance backs off).
//
// # Where peers differ
//
// go-redis/redis_rate v10 runs the same algorithm in a script of the same
// shape (and is as fast: see benchmarks/redis_test.go); it leaves a failed
// or slow Redis to the caller, uses the key as given, and has no leases.
// Like every bulwark limiter this one rejects at once instead of waiting
// (redis_rate neither waits), with the hint for bulwark.RetryAfter.
//
// # Events and metrics
//
// Each rejection is reported as bulwark.EventRejected with the hint in
// Delay, counted in bulwark.events and passed to observers; [EventDegraded]
// and [EventRecovered] tell when Redis was lost and found. The limiter
// exports its rejections as bulwark.calls (outcome "rejected") and the
// bulwark.redis.degraded gauge, read at collection time and holding the
// limiter weakly: a dropped limiter is garbage-collected and needs no
// Close. Status returns the kind "redislimit", the name, the state ("ok"
// or "degraded"), the rejections and, with a lease, the tokens the
// instance holds of the shared bucket.
//
// # Zero value
//
// The zero Limiter has no Redis to ask: Execute and AllowN run nothing and
// return an error matching ratelimit.ErrZeroValue. A Limiter is safe for
// concurrent use.
package redislimit
