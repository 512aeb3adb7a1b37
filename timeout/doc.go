// Package timeout bounds the duration of a call.
//
//	t := timeout.New(300 * time.Millisecond)
//	err := t.Execute(ctx, func(ctx context.Context) error { return call(ctx) })
//	if errors.Is(err, timeout.ErrTimeout) { ... }
//
// The protected function runs with a context whose deadline is the
// timeout's (or the caller's, if that comes first). Execute returns
// [ErrTimeout], which also matches context.DeadlineExceeded, only when the
// Timeout's own deadline fired: when the caller's deadline or cancellation
// came first, the function's error (the caller's ctx.Err()) comes back
// unchanged and no timeout event is reported. When the caller's deadline
// is earlier than the timeout's, the function runs under the caller's own
// context and the Timeout makes no context or timer, at no cost; under
// WithAbandon it still makes its goroutine, and a context of its own whose
// deadline is the caller's, since it must be able to return without the
// function.
//
// # Cooperative by default
//
// Enforcement is cooperative, as in failsafe-go and Polly: Execute waits for
// the function to return, so a function that ignores its context runs past
// the deadline, and a success that arrives late is still a success (its
// result is valid; the deadline only asked it to stop). A function that
// returns an error after the deadline gets ErrTimeout wrapped around that
// error (even one that wraps the deadline, such as net/http's *url.Error), so
// errors.Is and errors.As find both. ErrTimeout is not a rejection (it does
// not match bulwark.ErrRejected): the dependency was asked and was slow, so
// a breaker, an adaptive limit or a throttler around the Timeout counts it
// as a failure, and retry retries it. [WithAbandon] instead returns at the
// deadline whatever the function does, leaving it to finish on its own
// goroutine; that costs a goroutine per call and is documented there.
//
// A zero or negative duration is rejected by New with a panic, unlike Polly
// where it disables the timeout: a timeout that silently does nothing hides
// a configuration mistake. [WithDurationFunc] sets the duration per call.
//
// # Panics
//
// A panic in the function propagates to the caller unchanged, after the
// Timeout has released its context and timer. Under WithAbandon, a panic is
// carried back to the caller while it waits; see WithAbandon for one that
// comes later.
//
// # Counts and events
//
// A Timeout counts the calls whose own deadline fired, abandoned or not:
// [Timeout.Status] returns them as Failures, in the shape every bulwark
// policy shares, and they are the bulwark.calls series with outcome
// "failure", the only one a Timeout exports. The calls that finish in
// time, whatever they return, and those ended by the caller's cancellation
// or earlier deadline are not counted, so that the success path costs no
// more than its context.
//
// Each time its own deadline fires, the Timeout reports
// bulwark.EventTimeout, with Delay set to the call's timeout (the duration
// after which the deadline fired) and Err to the returned error (counter
// bulwark.events, span event "bulwark.timeout"). The event is built only
// when something listens, so a timeout without an SDK, a recording span
// or an observer allocates nothing for it.
package timeout
