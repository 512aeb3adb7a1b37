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
// cancellation or expired deadline, and errors [WithRetryIf] turns down.
// A non-retryable error is returned as it is. When retries run out, Execute
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
// or ReasonRetryAfter when the dependency's own hint is what does not fit).
// A sleep ends when the caller cancels, and Execute then returns ctx.Err().
// No timer or goroutine outlives a call. The clock is read only for a call
// whose context has a deadline, or with WithMaxDuration.
//
// # Budgets
//
// A [Budget] shared by many policies caps retries as a share of traffic,
// so that a failing dependency is not hammered: [NewTokenBudget] is gRPC's
// token bucket (history-based), [NewRatioBudget] a share of requests with a
// minimum rate. When the budget is spent, retrying stops with
// ReasonBudget and an EventBudgetExceeded.
//
// # Events
//
// Each scheduled retry is reported as bulwark.EventRetry (Attempt: the
// attempt about to run; Delay; Err: the failure), giving up as
// bulwark.EventExhausted with the reason, and a spent budget as
// bulwark.EventBudgetExceeded: counted in bulwark.events, added to the
// call's span as "bulwark.retry", "bulwark.retry.exhausted" and
// "bulwark.retry.budget_exceeded", and passed to observers.
package retry
