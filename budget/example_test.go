package budget_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/budget"
	"github.com/bulwark-go/bulwark/hedge"
	"github.com/bulwark-go/bulwark/retry"
)

func ExampleNewToken() {
	b := budget.NewToken(10, 0.1) // shared by every policy that calls the same service
	r1 := retry.New(retry.WithBudget(b), retry.WithDelay(0))
	r2 := retry.New(retry.WithBudget(b), retry.WithDelay(0))
	fail := func(ctx context.Context) error { return errors.New("down") }
	_ = r1.Execute(context.Background(), fail) // 3 failed attempts: 10 → 7 tokens
	err := r2.Execute(context.Background(), fail)
	var ex *retry.ExhaustedError
	errors.As(err, &ex)
	fmt.Println(ex.Attempts, ex.Reason, b.Tokens())
	// Output: 2 budget 5
}

func ExampleNewRatio() {
	b := budget.NewRatio(0.1, 0) // extra attempts up to 10% of calls
	r := retry.New(retry.WithBudget(b), retry.WithDelay(0))
	h := hedge.New(hedge.WithBudget(b), hedge.WithDelay(time.Hour))
	p := bulwark.New(r, h) // each call is one request, through both
	attempts := 0
	for range 100 {
		_ = p.Execute(context.Background(), func(ctx context.Context) error {
			attempts++
			return errors.New("down")
		})
	}
	fmt.Println(attempts - 100)
	// Output: 10
}

func ExampleShare() {
	// A policy of one's own that retries once, drawing from a budget
	// shared with bulwark's policies.
	b := budget.NewRatio(1, 0)
	share := budget.NewShare(b)
	once := func(ctx context.Context, fn func(context.Context) error) error {
		ctx, records := share.Begin(ctx)
		if records {
			share.Budget().RecordRequest()
		}
		err := fn(ctx)
		if err == nil || !share.Budget().TryRetry() {
			return err
		}
		if records {
			share.Budget().RecordAttempt(false)
		}
		return fn(ctx)
	}
	calls := 0
	err := once(context.Background(), func(context.Context) error {
		calls++
		if calls == 1 {
			return errors.New("reset")
		}
		return nil
	})
	fmt.Println(calls, err, b.Tokens())
	// Output: 2 <nil> 0
}
