package timeout_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/timeout"
)

func Example() {
	t := timeout.New(20 * time.Millisecond)
	err := t.Execute(context.Background(), func(ctx context.Context) error {
		select {
		case <-time.After(time.Second): // a slow dependency
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	fmt.Println(err)
	// A timeout is the dependency being slow, not a local rejection.
	fmt.Println(errors.Is(err, context.DeadlineExceeded), errors.Is(err, bulwark.ErrRejected))
	// Output:
	// bulwark/timeout: timed out
	// true false
}

func ExampleWithDurationFunc() {
	type budgetKey struct{}
	t := timeout.New(time.Second, timeout.WithDurationFunc(func(ctx context.Context) time.Duration {
		d, _ := ctx.Value(budgetKey{}).(time.Duration) // 0 when unset: New's second
		return d
	}))
	ctx := context.WithValue(context.Background(), budgetKey{}, 5*time.Millisecond)
	err := t.Execute(ctx, func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	})
	fmt.Println(errors.Is(err, timeout.ErrTimeout))
	// Output: true
}
