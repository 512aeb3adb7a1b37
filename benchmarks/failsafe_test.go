package benchmarks

import (
	"context"
	"time"

	"github.com/failsafe-go/failsafe-go"
	fsbulkhead "github.com/failsafe-go/failsafe-go/bulkhead"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/fallback"
	"github.com/failsafe-go/failsafe-go/hedgepolicy"
	"github.com/failsafe-go/failsafe-go/ratelimiter"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/failsafe-go/failsafe-go/timeout"
)

// failsafeRun adapts an executor to a runner: the call sees the
// execution's context, which carries the executor's deadline.
func failsafeRun(ex failsafe.Executor[any]) runner {
	return func(ctx context.Context, fn func(context.Context) error) error {
		return ex.RunWithExecution(func(e failsafe.Execution[any]) error { return fn(e.Context()) })
	}
}

func failsafePipeline(n int) runner {
	ps := make([]failsafe.Policy[any], n)
	for i := range ps {
		ps[i] = fallback.NewWithResult[any](nil)
	}
	return failsafeRun(failsafe.With(ps...))
}

func failsafeTimeout(d time.Duration) runner {
	return failsafeRun(failsafe.With[any](timeout.New[any](d)))
}

func failsafeFallback() runner {
	return failsafeRun(failsafe.With[any](fallback.NewWithResult[any](nil)))
}

func failsafeBreaker() runner {
	return failsafeRun(failsafe.With[any](circuitbreaker.NewBuilder[any]().WithDelay(time.Hour).Build()))
}

// failsafeBreakerPermit uses failsafe-go's permit API, without an executor.
func failsafeBreakerPermit() runner {
	cb := circuitbreaker.NewBuilder[any]().WithDelay(time.Hour).Build()
	return func(ctx context.Context, fn func(context.Context) error) error {
		if !cb.TryAcquirePermit() {
			return circuitbreaker.ErrOpen
		}
		err := fn(ctx)
		if err != nil {
			cb.RecordFailure()
		} else {
			cb.RecordSuccess()
		}
		return err
	}
}

func failsafeRetry() runner {
	return failsafeRun(failsafe.With[any](retrypolicy.NewBuilder[any]().WithMaxAttempts(3).WithDelay(0).Build()))
}

func failsafeHedge(delay time.Duration) runner {
	return failsafeRun(failsafe.With[any](hedgepolicy.NewWithDelay[any](delay)))
}

func failsafeSmoothPermit() runner {
	rl := ratelimiter.NewSmooth[any](100_000_000, time.Second) // a 10ns spacing: 1<<30 a second divides by zero inside failsafe-go
	return func(ctx context.Context, fn func(context.Context) error) error {
		if !rl.TryAcquirePermit() {
			return ratelimiter.ErrExceeded
		}
		return fn(ctx)
	}
}

func failsafeBurstyPermit() runner {
	rl := ratelimiter.NewBursty[any](1<<30, time.Second)
	return func(ctx context.Context, fn func(context.Context) error) error {
		if !rl.TryAcquirePermit() {
			return ratelimiter.ErrExceeded
		}
		return fn(ctx)
	}
}

func failsafeBursty() runner {
	return failsafeRun(failsafe.With[any](ratelimiter.NewBursty[any](1<<30, time.Second)))
}

func failsafeBulkhead() runner {
	return failsafeRun(failsafe.With[any](fsbulkhead.New[any](1 << 20)))
}

func failsafeBulkheadPermit() runner {
	bh := fsbulkhead.New[any](1 << 20)
	return func(ctx context.Context, fn func(context.Context) error) error {
		if !bh.TryAcquirePermit() {
			return fsbulkhead.ErrFull
		}
		defer bh.ReleasePermit()
		return fn(ctx)
	}
}
