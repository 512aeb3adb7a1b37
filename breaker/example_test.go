package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
)

func Example() {
	b := breaker.New(breaker.WithConsecutiveFailures(3), breaker.WithOpenDuration(time.Minute))
	unavailable := errors.New("inventory unavailable")
	for range 3 {
		_ = b.Execute(context.Background(), func(ctx context.Context) error { return unavailable })
	}
	err := b.Execute(context.Background(), func(ctx context.Context) error { return nil })
	fmt.Println(b.State(), errors.Is(err, breaker.ErrOpen), errors.Is(err, bulwark.ErrRejected))
	// Output: open true true
}

func ExampleBreaker_Acquire() {
	b := breaker.New()
	permit, err := b.Acquire(context.Background())
	if err != nil {
		fmt.Println("rejected:", err)
		return
	}
	streamErr := error(nil) // ... run a stream, then report how it ended
	permit.Done(context.Background(), streamErr)
	fmt.Println(b.State())
	// Output: closed
}

// A Permit held by the caller (here a local variable; often a field of the
// stream it guards) costs no allocation, and can be admitted again once
// reported.
func ExampleBreaker_AcquireInto() {
	b := breaker.New()
	ctx := context.Background()
	var permit breaker.Permit
	for _, outcome := range []error{nil, errors.New("reset by peer"), nil} {
		if err := b.AcquireInto(ctx, &permit); err != nil {
			fmt.Println("rejected:", err)
			return
		}
		permit.Done(ctx, outcome) // ... how the stream ended
	}
	fmt.Println(b.State(), b.Snapshot().Totals)
	// Output: closed [2 1 0 0]
}

func ExampleWithFailureRatio() {
	b := breaker.New(
		breaker.WithFailureRatio(0.5),
		breaker.WithCountWindow(10),
		breaker.WithMinimumCalls(4),
	)
	call := func(err error) { _ = b.Execute(context.Background(), func(ctx context.Context) error { return err }) }
	call(nil)
	call(errors.New("503"))
	call(nil)
	s := b.Snapshot()
	fmt.Println(s.State, s.Calls, s.Failures)
	call(errors.New("503")) // 2 failures in 4 calls
	fmt.Println(b.State())
	// Output:
	// closed 3 1
	// open
}
