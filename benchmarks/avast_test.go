package benchmarks

import (
	"context"

	"github.com/avast/retry-go/v4"
)

// avastRetry makes up to 3 attempts with no wait.
func avastRetry() runner {
	return func(ctx context.Context, fn func(context.Context) error) error {
		return retry.Do(func() error { return fn(ctx) },
			retry.Context(ctx), retry.Attempts(3), retry.Delay(0), retry.DelayType(retry.FixedDelay), retry.LastErrorOnly(true))
	}
}
