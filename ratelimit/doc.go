// Package ratelimit limits the rate of calls: a token bucket on
// golang.org/x/time/rate ([New]), a sliding-window counter for limits
// thought of as "n per window" ([NewSlidingWindow]), and per-key token
// buckets with bounded memory ([NewKeyed]).
//
//	lim := ratelimit.New(100, 20) // 100 calls a second, bursts of 20
//	err := lim.Execute(ctx, func(ctx context.Context) error { return call(ctx) })
//	if errors.Is(err, ratelimit.ErrLimited) {
//		d, _ := bulwark.RetryAfter(err) // when a token will be there
//	}
//
// # Rejecting or waiting
//
// By default a call over the limit is rejected at once, as failsafe-go and
// Polly do, with an error that matches [ErrLimited] and bulwark.ErrRejected
// and carries the time until a token is available. [WithMaxWait] lets a
// call wait for its token instead, up to a bound and never past the
// caller's deadline; a wait the caller cancels gives its token back. The
// bucket starts full, as x/time/rate's does, and [Limiter.SetLimit] and
// [Limiter.SetBurst] change it at run time. Over any span t, a bucket of
// limit r and burst b admits at most r·t + b calls.
//
// # Keys
//
// [NewKeyed] reads a key from each call's context and keeps a token bucket
// per key. Memory is bounded: at most [WithMaxKeys] keys are remembered
// (10000 by default), the least recently used is forgotten to make room,
// and a key unused for [WithIdleExpiry] (10 minutes) is forgotten too.
// Forgetting a key forgets its bucket: the key's next call finds a full
// bucket, so a client whose key is evicted between calls may get up to a
// burst more than its limit. Keys in use stay at the front of the
// least-recently-used order and survive a flood of new keys. Keys are spread
// over 16 locks; a call for a known key costs one lock, one map lookup and
// no allocation beyond the token bucket's own work.
//
// # Events
//
// Each rejection is reported as bulwark.EventRejected with Delay set to the
// hint: counted in bulwark.events per limiter and never per key (key values
// are unbounded), added to the call's span and passed to observers.
// Allowed calls are not counted, so that the Allow path costs what
// x/time/rate's does; Snapshot returns the limiter's state and its
// rejections.
package ratelimit
