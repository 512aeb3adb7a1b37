package benchmarks

import (
	"context"
	"time"

	"github.com/eapache/go-resiliency/breaker"
)

// eapacheBreaker opens after 5 errors (within its error window) and closes
// after 1 success.
func eapacheBreaker() runner {
	b := breaker.New(5, 1, time.Hour)
	return func(ctx context.Context, fn func(context.Context) error) error {
		return b.Run(func() error { return fn(ctx) })
	}
}
