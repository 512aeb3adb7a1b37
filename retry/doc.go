// Package retry runs a call again when it fails with an error worth
// retrying, waiting a backoff between attempts.
//
//	r := retry.New(
//		retry.WithMaxAttempts(4),
//		retry.WithExponentialBackoff(50*time.Millisecond, 2, 2*time.Second),
//		retry.WithJitter(retry.JitterFull),
//	)
//	err := r.Execute(ctx, func(ctx context.Context) error { return callInventory(ctx) })
//	if errors.Is(err, retry.ErrExhausted) { ... } // errors.Is also finds the last attempt's error
//
// # What is retried
//
// Every error is retried except bulwark.Permanent errors, the caller's own
// cancellation or expired deadline, and errors [WithRetryIf] turns down. A
// timeout (timeout.ErrTimeout) is an ordinary failure: the dependency was
// slow, and is retried. A local rejection by a policy inside the retry (an
// error matching bulwark.ErrRejected: an open breaker, a full bulkhead, a
// rate limit) never reached the dependency: it is retried only when it
// carries a bulwark.RetryAfter hint, after that wait, and only if the wait
// fits the attempts, the deadline and the max duration left; without a
// hint, retrying at once would only be rejected again, so it is returned as
// it is. A non-retryable error is returned as it is. When retries run out, Execute
// returns an [*ExhaustedError] that matches [ErrExhausted], wraps the last
// attempt's error and tells how many attempts were made and why it stopped.
// Attempts count the first one ([WithMaxAttempts], default 3).
//
// # How long to wait
//
// The default backoff is exponential from 100ms, doubling up to 10s, with
// full jitter; [WithDelay] (0 retries at once, without a timer),
// [WithLinearBackoff], [WithExponentialBackoff] and [WithDelayFunc] replace
// it, and [WithJitter] spreads it: full, equal or decorrelated, as the AWS
// Architecture Blog defines them. The first exponential delay is the
// initial delay itself. Delays are computed without allocation.
//
// An error that carries a hint (bulwark.RetryAfter: a server's
// Retry-After, gRPC pushback, an open breaker's reopening time) sets the
// next wait verbatim: no jitter, capped only by [WithMaxDelay]. Polly and
// failsafe-go differ here: Polly uses the hint verbatim too, failsafe-go
// jitters and clips it.
//
// # Deadlines
//
// A retry never sleeps past the caller's deadline or [WithMaxDuration], and
// never starts an attempt that cannot finish before them, judging by how
// long the previous attempt took: it returns the last error at once, in an
// ExhaustedError whose Reason says so (ReasonDeadline, ReasonMaxDuration,
// or ReasonRetryAfter when the wait was the dependency's own hint). The
// arithmetic saturates, so a wait of any length, up to math.MaxInt64 (a
// Retry-After of centuries, WithDelay(math.MaxInt64)), is judged as it is
// and gives up at once when it does not fit; without a deadline or a max
// duration, a long wait is what was asked for and ends when the caller
// cancels.
// A sleep ends when the caller cancels, and Execute then returns ctx.Err().
// No timer or goroutine outlives a call. The clock is read only for a call
// whose context has a deadline, or with WithMaxDuration.
//
// # Budgets
//
// A budget.Budget shared by many policies ([WithBudget]) caps retries as a
// share of traffic, so that a failing dependency is not hammered:
// budget.NewToken is gRPC's token bucket (history-based), budget.NewRatio a
// share of requests with a minimum rate. When the budget is spent,
// retrying stops with ReasonBudget and an EventBudgetExceeded. A call is
// one request for the budget however many of the policies drawing from it
// it passes through (a retry around a hedge, nested retries): the
// outermost records the request and the outcome of its attempts, the
// others only take their extra attempts from the budget. The budget counts
// successes and failures worth retrying; a local rejection, a permanent
// error and the caller's cancellation count for nothing. With a budget
// that only this retry uses, the success path still allocates nothing; a
// retry that records a call for a budget other policies use too marks the
// call's context for them, one allocation of 32 bytes (see the budget
// package).
//
// # Panics and the zero value
//
// A panic in the protected function goes through unchanged: the retry
// holds nothing but the timer of a wait, which is stopped. The zero Retry
// works as New() with no options.
//
// # Counts
//
// A Retry counts, on its failure paths only, the retries it makes, the
// calls it gives up on (those that end in an ExhaustedError, for any
// reason, a spent budget included) and the retries its budget refuses.
// [Retry.Snapshot] returns them with the budget's level; [Retry.Status]
// returns them in the shape every bulwark policy shares (bulwark.Status:
// Failures, the calls given up on; Retries; Tokens). The calls given up on
// are also the bulwark.calls series with outcome "failure", the only one a
// Retry exports. A success, and an error returned without retrying (a
// permanent one, the caller's cancellation, a rejection without a hint),
// are not counted, so that the success path costs nothing more. Every
// zero Retry counts its own calls.
//
// # Events
//
// Each scheduled retry is reported as bulwark.EventRetry (Attempt: the
// attempt about to run; Delay: the wait before it; Err: the failure),
// giving up as bulwark.EventExhausted (Attempt: the attempts made; Reason;
// Delay: the wait that did not fit the time left, the dependency's own
// hint under ReasonRetryAfter, 0 when attempts ran out; Err), and a spent
// budget as bulwark.EventBudgetExceeded (Attempt, Err), after which the
// call ends with ReasonBudget and no EventExhausted: counted in
// bulwark.events, added to the call's span as "bulwark.retry",
// "bulwark.retry.exhausted" and "bulwark.retry.budget_exceeded", and passed
// to observers. Each event is built only when something listens, so a
// failing call without an SDK, a recording span or an observer allocates
// nothing for it.
package retry
