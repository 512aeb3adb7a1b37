package benchmarks

import (
	"context"

	"github.com/cenkalti/backoff/v5"
)

// cenkaltiRetry makes up to 3 attempts with no wait.
func cenkaltiRetry() runner {
	return func(ctx context.Context, fn func(context.Context) error) error {
		_, err := backoff.Retry(ctx, func() (struct{}, error) { return struct{}{}, fn(ctx) },
			backoff.WithBackOff(&backoff.ZeroBackOff{}), backoff.WithMaxTries(3))
		return err
	}
}
