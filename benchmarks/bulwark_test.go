package benchmarks

import (
	"context"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/fallback"
	"github.com/bulwark-go/bulwark/hedge"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/timeout"
)

func recovered(context.Context, error) error { return nil }

func bulwarkPipeline(n int) runner {
	ps := make([]bulwark.Policy, n)
	for i := range ps {
		ps[i] = fallback.New(recovered)
	}
	return bulwark.New(ps...).Execute
}

func bulwarkTimeout(d time.Duration) runner { return timeout.New(d).Execute }

func bulwarkFallback() runner { return fallback.New(recovered).Execute }

func bulwarkBreaker() runner { return breaker.New(breaker.WithOpenDuration(time.Hour)).Execute }

// bulwarkBreakerPermit uses the two-step form with a Permit on the
// caller's stack: AcquireInto, call, Done.
func bulwarkBreakerPermit() runner {
	b := breaker.New(breaker.WithOpenDuration(time.Hour))
	return func(ctx context.Context, fn func(context.Context) error) error {
		var p breaker.Permit
		if err := b.AcquireInto(ctx, &p); err != nil {
			return err
		}
		err := fn(ctx)
		p.Done(ctx, err)
		return err
	}
}

// bulwarkBreakerAcquire uses the two-step form with a Permit that Acquire
// allocates.
func bulwarkBreakerAcquire() runner {
	b := breaker.New(breaker.WithOpenDuration(time.Hour))
	return func(ctx context.Context, fn func(context.Context) error) error {
		p, err := b.Acquire(ctx)
		if err != nil {
			return err
		}
		err = fn(ctx)
		p.Done(ctx, err)
		return err
	}
}

func bulwarkRetry() runner { return retry.New(retry.WithDelay(0)).Execute }

func bulwarkHedge(delay time.Duration) runner { return hedge.New(hedge.WithDelay(delay)).Execute }

// The rate limiters are set high enough that every call is allowed.

func bulwarkRateLimit() runner { return ratelimit.New(1e12, 1<<30).Execute }

func bulwarkBulkhead() runner { return bulkhead.New(1 << 20).Execute }
