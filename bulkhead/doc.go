// Package bulkhead caps the calls in flight to a dependency: a fixed limit
// ([New]), a limit that follows the dependency's latency ([NewAdaptive]),
// and client-side throttling that rejects locally while the dependency
// refuses work ([NewThrottler]).
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
// is returned whatever happens: success, error, panic (which goes on), and a
// wait that ends in cancellation or timeout leaves no permit behind, even
// when one was granted as it gave up. A free permit and an empty queue cost
// two atomic operations and no allocation; a queued call allocates its
// place in the queue.
//
// # Adaptive limits
//
// [NewAdaptive] moves its limit with an [Algorithm], as Netflix's
// concurrency-limits does: [AIMD] (grow by one, cut on drops or slow
// calls), [Vegas] (keep a short queue at the dependency, estimated from the
// RTT over the no-load RTT) and [Gradient2] (the ratio of long to short
// RTT, with Netflix's unbounded growth guarded). Each call is a sample (its
// RTT, the calls in flight when it started, whether it was dropped); the
// caller's own cancellation is no sample. Samples are gathered over a
// window ([WithSampleWindow], 100ms and 10 samples) and handed over as one,
// so the limit does not chase samples taken under a limit it has left. The
// limit stays within [WithLimits]; each change is a
// bulwark.EventLimitChange and the bulwark.limit gauge.
//
// # Throttling
//
// [Throttler] implements the client-side throttling of Google's SRE book:
// over a sliding window it rejects calls locally with probability
// max(0, (requests − K·accepts) / (requests + 1)), capped
// ([WithK], [WithWindow], [WithMaxRejection]), with an error matching
// [ErrThrottled].
//
// # Events and gauges
//
// Rejections are reported as bulwark.EventRejected (counted in
// bulwark.events, added to the call's span, passed to observers), and the
// calls in flight and queued are the bulwark.bulkhead.inflight and
// bulwark.bulkhead.queued gauges, read at collection time; Snapshot returns
// the same figures.
package bulkhead
