package benchmarks

import (
	"context"
	"time"

	"github.com/eapache/go-resiliency/breaker"
	"github.com/eapache/go-resiliency/retrier"
	"github.com/eapache/go-resiliency/semaphore"
)

// eapacheBreaker opens after 5 errors (within its error window) and closes
// after 1 success.
func eapacheBreaker() runner {
	b := breaker.New(5, 1, time.Hour)
	return func(ctx context.Context, fn func(context.Context) error) error {
		return b.Run(func() error { return fn(ctx) })
	}
}

// eapacheRetrier makes up to 3 attempts with no wait.
func eapacheRetrier() runner {
	return retrier.New(retrier.ConstantBackoff(2, 0), nil).RunCtx
}

// eapacheSemaphore acquires with a one-second timeout: with a zero
// timeout its select may pick the expired timer over a free ticket and
// fail at random.
func eapacheSemaphore() runner {
	sem := semaphore.New(1<<20, time.Second)
	return func(ctx context.Context, fn func(context.Context) error) error {
		if err := sem.Acquire(); err != nil {
			return err
		}
		defer sem.Release()
		return fn(ctx)
	}
}
