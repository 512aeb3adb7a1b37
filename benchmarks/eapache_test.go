package benchmarks

import (
	"context"
	"time"

	"github.com/eapache/go-resiliency/breaker"
	"github.com/eapache/go-resiliency/retrier"
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
