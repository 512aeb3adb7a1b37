package benchmarks

import (
	"context"
	"time"

	"github.com/sony/gobreaker/v2"
)

// gobreakerBreaker uses gobreaker's defaults (open after more than 5
// consecutive failures) with a long open timeout.
func gobreakerBreaker() runner {
	cb := gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{Timeout: time.Hour})
	return func(ctx context.Context, fn func(context.Context) error) error {
		_, err := cb.Execute(func() (struct{}, error) { return struct{}{}, fn(ctx) })
		return err
	}
}
