package benchmarks

import (
	"context"

	"go.uber.org/ratelimit"
)

// uberTake paces calls with go.uber.org/ratelimit's Take, which waits for
// the next slot rather than rejecting; the rate is high enough that it
// never waits.
func uberTake() runner {
	rl := ratelimit.New(1<<30, ratelimit.WithoutSlack)
	return func(ctx context.Context, fn func(context.Context) error) error {
		rl.Take()
		return fn(ctx)
	}
}
