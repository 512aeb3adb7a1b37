package retry_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/budget"
	"github.com/bulwark-go/bulwark/retry"
)

func Example() {
	r := retry.New(retry.WithMaxAttempts(3), retry.WithDelay(time.Millisecond))
	calls := 0
	err := r.Execute(context.Background(), func(ctx context.Context) error {
		calls++
		if calls < 3 {
			return errors.New("connection reset")
		}
		return nil
	})
	fmt.Println(calls, err)
	// Output: 3 <nil>
}

func ExampleExhaustedError() {
	r := retry.New(retry.WithMaxAttempts(2), retry.WithDelay(0))
	errUnavailable := errors.New("503 service unavailable")
	err := r.Execute(context.Background(), func(ctx context.Context) error { return errUnavailable })
	var ex *retry.ExhaustedError
	if errors.As(err, &ex) {
		fmt.Println(ex.Attempts, ex.Reason, errors.Is(err, errUnavailable))
	}
	// Output: 2 max_attempts true
}

func ExampleWithRetryIf() {
	errNotFound := errors.New("404")
	r := retry.New(retry.WithDelay(0), retry.WithRetryIf(func(err error) bool { return !errors.Is(err, errNotFound) }))
	calls := 0
	err := r.Execute(context.Background(), func(ctx context.Context) error { calls++; return errNotFound })
	fmt.Println(calls, err)
	// Output: 1 404
}

func ExampleWithBudget() {
	b := budget.NewToken(10, 0.1) // shared by every policy that calls the same service
	r := retry.New(retry.WithBudget(b), retry.WithDelay(0))
	fail := func(ctx context.Context) error { return errors.New("down") }
	// Each failed attempt takes a token; a retry needs more than half of
	// them: 10 → 7 (two retries, then max_attempts), 7 → 5 (one retry,
	// then refused), 5 → 4 (refused).
	for range 3 {
		_ = r.Execute(context.Background(), fail)
	}
	s := r.Snapshot()
	fmt.Println(s.Retries, s.Exhausted, s.BudgetRefused, s.Tokens)
	// Output: 3 3 2 4
}

func ExampleWithMaxDelay() {
	// A server's Retry-After is honoured verbatim, up to WithMaxDelay.
	r := retry.New(retry.WithMaxDelay(5 * time.Millisecond))
	calls := 0
	start := time.Now()
	_ = r.Execute(context.Background(), func(ctx context.Context) error {
		calls++
		if calls == 1 {
			return bulwark.WithRetryAfter(errors.New("429 too many requests"), time.Hour)
		}
		return nil
	})
	fmt.Println(calls, time.Since(start) < time.Second)
	// Output: 2 true
}
