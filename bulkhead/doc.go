// Package bulkhead caps the calls in flight to a dependency: a fixed limit
// ([New]) and a limit that follows the dependency's latency
// ([NewAdaptive]). Client-side throttling, which rejects at random while
// the dependency refuses work and caps no concurrency, is package
// throttle.
//
//	b := bulkhead.New(64, bulkhead.WithMaxQueue(128), bulkhead.WithMaxWait(50*time.Millisecond))
//	err := b.Execute(ctx, func(ctx context.Context) error { return callInventory(ctx) })
//	if errors.Is(err, bulkhead.ErrFull) { ... } // also matches bulwark.ErrRejected
//
// # Permits
//
// A call takes a permit, or waits for one in a bounded queue, first come
// first served ([WithMaxQueue], [WithMaxWait], and the caller's context);
// without room it is rejected with an error matching [ErrFull]. The permit
// is returned whatever happens: success, error, panic (which goes on
// unchanged), and a wait that ends in cancellation or timeout leaves no
// permit behind, even when one was granted as it gave up. A free permit
// and an empty queue cost two atomic operations and no allocation; a
// queued call allocates its place in the queue.
//
// # Order with an abandoning timeout
//
// A permit is held for as long as the bulkhead's own call runs, so what a
// bulkhead bounds depends on where it sits around a timeout built with
// timeout.WithAbandon, which returns at its deadline and leaves the
// function running on a goroutine of its own:
//
//   - inside the timeout (after it in bulwark.New), the bulkhead runs on
//     that goroutine and keeps its permit until the function really
//     returns: it bounds the functions running, abandoned ones included.
//     This is the order to use.
//
//     bulwark.New(timeout.New(d, timeout.WithAbandon()), bulkhead.New(64))
//
//   - outside the timeout, the bulkhead gets its permit back when the
//     timeout abandons the call, while the function goes on: it bounds the
//     callers waiting on the timeout, not the functions running. A slow
//     dependency then gets as many calls at once as arrive within the
//     function's duration, whatever the limit: 20 calls one every 10ms,
//     abandoned after 50ms, through bulkhead.New(1) have 4 functions
//     running at once.
//
// A cooperative timeout (the default, without WithAbandon) waits for the
// function, so both orders bound the running functions.
//
// # Adaptive limits
//
// [NewAdaptive] moves its limit with an [Algorithm], as Netflix's
// concurrency-limits does: [AIMD] (grow by one, cut on drops or slow
// calls), [Vegas] (keep a short queue at the dependency, estimated from the
// RTT over the no-load RTT) and [Gradient2] (the ratio of long to short
// RTT, with Netflix's unbounded growth guarded). Each call is a sample (its
// RTT, the calls in flight when it started, whether it was dropped).
// Samples are gathered over a window ([WithSampleWindow], 100ms and 10
// samples) and handed over as one, so the limit does not chase samples
// taken under a limit it has left. Each change is a
// bulwark.EventLimitChange, with the new limit in Event.Limit and no
// Reason, and shows in the bulwark.limit gauge.
//
// The limit stays within [WithLimits] (default 1 to 1000), whatever the
// algorithm computes: a NaN leaves it where it was, anything beyond the
// bounds is clamped, and the conversion to a count of permits saturates
// (WithLimits(1, math.MaxInt) works). An RTT of 0 (an answer served at
// once from a cache, or on the virtual clock of testing/synctest) counts
// as 1ns. The initial limit is 20 by default, moved to the nearer bound
// when 20 is outside the limits; an explicit [WithInitialLimit] outside
// them is a configuration error.
//
// # Outcomes
//
// The adaptive limiter learns from outcomes by the table in the bulwark
// package doc, and takes the [WithFailureIf] and [WithIgnoreIf] options
// every learner takes, with the same defaults:
//
//	success: nil, a Permanent error (a 404),   a sample, not dropped
//	an error FailureIf declines
//	failure: any other error, a timeout         a sample, dropped
//	(timeout.ErrTimeout)
//	ignored: the caller's cancel, a local       no sample
//	rejection from inside (bulwark.ErrRejected),
//	IgnoreIf, a panic
//
// So an overloaded dependency's 503 (with or without a Retry-After hint)
// and a timeout are what shrink a limit; a 404 marked bulwark.Permanent is
// an answer, and an open breaker or a full bulkhead inside is no word from
// the dependency at all. A panic is re-raised unchanged after the permit
// is returned. The fixed [Bulkhead] learns nothing: these options are
// AdaptiveOptions, which New does not take (the program does not compile).
//
// # Zero values
//
// The zero [Bulkhead] and [Adaptive] have no limit: each call returns an error
// that matches [ErrZeroValue] and names the type, runs nothing and does not
// panic; build them with New and NewAdaptive.
//
// # Events, gauges and memory
//
// Rejections are reported as bulwark.EventRejected (counted in
// bulwark.events, added to the call's span, passed to observers) and
// counted in the policy's bulwark.calls series (outcome "rejected"); the
// calls in flight and queued are the bulwark.bulkhead.inflight and
// bulwark.bulkhead.queued gauges, and an adaptive limit the bulwark.limit
// gauge, all read at collection time. Status returns the same figures in
// the shape every bulwark policy shares, Snapshot in the bulkhead's own.
// The series hold their policy weakly: a policy that is dropped is
// garbage-collected and its series go with it, with or without an SDK, so
// a policy needs no Close; no goroutine or timer of a policy outlives the
// call that started it. Policies are built by the thousand (per host, per
// tenant), so each is small: at GOMAXPROCS 2, without an SDK, a Bulkhead
// holds at most 2 KiB and an Adaptive 2.5 KiB (about 1.9 and 2.1 KiB, of
// which the bulwark.calls registration about 550 bytes); an SDK's records
// of the two registrations add about 3 KiB.
//
// # Cost
//
// A call that finds a free permit takes no lock and allocates nothing. The
// count of permits in flight that every call of an Adaptive writes twice
// has a cache line pair of its own. At GOMAXPROCS 2 or more, a Bulkhead
// whose limit is at least 8 times the stripes of the processors (16 at
// GOMAXPROCS 2) keeps free permits per processor instead, a batch of up to
// 64 each and a quarter of the limit at most in all, so that calls on
// different cores share no line that either writes
// (BenchmarkAcquireReleaseParallel beside BenchmarkAcquireRelease): a
// shared count, written twice by every call, made two cores run no more
// calls than one. Finding the processor's cache adds a little to a call on
// one core. When the bulkhead is full, the call that would queue or be
// rejected first collects every cache under the lock, and a release that
// finds calls queued hands them what the caches hold: no call is turned
// away, and none passes the queue, while a permit sits in a cache.
package bulkhead
