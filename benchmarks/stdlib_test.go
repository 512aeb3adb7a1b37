package benchmarks

import (
	"context"
	"time"
)

// direct calls the function with no protection: the floor.
func direct(ctx context.Context, fn func(context.Context) error) error { return fn(ctx) }

// withTimeout is the standard library's deadline, which every cooperative
// timeout is built on.
func withTimeout(d time.Duration) runner {
	return func(ctx context.Context, fn func(context.Context) error) error {
		ctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		return fn(ctx)
	}
}
