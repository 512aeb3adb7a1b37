// Package throttle is the adaptive client-side throttling of Google's SRE
// book ("Handling Overload"): while a dependency refuses work, a
// [Throttler] rejects a share of the calls locally, at random, so that the
// dependency is not buried under requests it will refuse anyway. It caps
// no concurrency (that is package bulkhead) and no rate (package
// ratelimit): it follows what the dependency accepts.
//
//	th := throttle.New()
//	err := th.Execute(ctx, func(ctx context.Context) error { return callInventory(ctx) })
//	if errors.Is(err, throttle.ErrThrottled) { ... } // also matches bulwark.ErrRejected
//
// # The formula
//
// Over a sliding window a call is rejected locally with probability
//
//	max(0, (requests − K·accepts) / (requests + 1))
//
// capped by [WithMaxRejection] (0.9), so that some calls still probe the
// dependency and see it recover; [WithK] is K (2) and [WithWindow] the
// window (2 minutes, as the book suggests). A healthy dependency accepts
// everything and nothing is rejected; one that accepts one call in ten
// gets about 2 calls for each it accepts.
//
// The window is a ring of 10 buckets aligned on the wall clock's Unix time,
// the window every bulwark policy shares: a bucket is forgotten whole once
// the window has moved past it. A request is counted in the bucket of the
// call's start; an accept in the newest bucket when the call ends, so that
// a call that outlasts the window never clears the bucket that now holds
// the present. A start whose clock reading went stale before it was
// counted (another call's later reading was counted first) counts in the
// newest bucket, as do its accept and its withdrawal.
//
// # Outcomes
//
// The throttler learns from outcomes by the table in the bulwark package
// doc, and takes the [WithFailureIf] and [WithIgnoreIf] options every
// learner takes, with the same defaults:
//
//	success: nil, a Permanent error (a 404),   a request, accepted
//	an error FailureIf declines
//	failure: any other error, a timeout         a request, not accepted
//	(timeout.ErrTimeout)
//	ignored: the caller's cancel, a local       not counted, not even as a
//	rejection from inside (bulwark.ErrRejected), request
//	IgnoreIf, a panic
//
// So an overloaded dependency's 503 (with or without a Retry-After hint)
// and a timeout raise the rejection probability; a 404 marked
// bulwark.Permanent is an answer, and an open breaker or a full bulkhead
// inside is no word from the dependency at all. A panic goes on unchanged,
// and counts for nothing. A call the throttler rejects itself is a request
// that was not accepted: local rejections keep the probability up while
// the dependency has not been heard to recover.
//
// # Zero value
//
// The zero [Throttler] is ready to use, with New's defaults. It reports
// its events through the global meter provider, but exports no
// bulwark.calls series: [New] registers it.
//
// # Events, metrics and memory
//
// Each local rejection is reported as bulwark.EventRejected (counted in
// bulwark.events, added to the call's span, passed to observers) and
// counted in the throttler's bulwark.calls series, outcome "rejected",
// read at collection time; [Throttler.Status] returns the same count. The
// series holds the throttler weakly: a dropped throttler is
// garbage-collected, with or without an SDK, and needs no Close; it starts
// no goroutine and no timer. A throttler is small: at GOMAXPROCS 2, without
// an SDK, a used one holds about 1.7 KiB (its bulwark.calls registration
// about 550 bytes of it, its striped count of rejections 256), and an SDK's
// record of the registration adds about 1.2 KiB.
package throttle
