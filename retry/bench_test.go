package retry_test

import (
	"context"
	"testing"

	"github.com/bulwark-go/bulwark/budget"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/bulwark-go/bulwark/retry"
)

func BenchmarkSuccessFirstAttempt(b *testing.B) {
	r := retry.New()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if r.Execute(ctx, testutil.Nop) != nil {
			b.Fatal()
		}
	}
}

func BenchmarkSuccessFirstAttemptParallel(b *testing.B) {
	r := retry.New()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if r.Execute(ctx, testutil.Nop) != nil {
				b.Error("failed")
				return
			}
		}
	})
}

// flaky fails twice, then succeeds; its errors are preallocated, so any
// allocation is the policy's.
type flaky struct{ n int }

func (f *flaky) call(context.Context) error {
	f.n++
	if f.n%3 != 0 {
		return testutil.ErrDep
	}
	return nil
}

func BenchmarkTwoFailuresThenSuccessZeroDelay(b *testing.B) {
	r := retry.New(retry.WithDelay(0))
	ctx := context.Background()
	f := &flaky{}
	call := f.call
	b.ReportAllocs()
	for b.Loop() {
		if r.Execute(ctx, call) != nil {
			b.Fatal()
		}
	}
}

// BenchmarkSuccessWithBudget: a budget only this retry uses.
func BenchmarkSuccessWithBudget(b *testing.B) {
	r := retry.New(retry.WithBudget(budget.NewToken(10, 0.1)))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if r.Execute(ctx, testutil.Nop) != nil {
			b.Fatal()
		}
	}
}

// BenchmarkSuccessWithSharedBudget: the budget is shared with another
// policy, so the retry marks the call it records.
func BenchmarkSuccessWithSharedBudget(b *testing.B) {
	shared := budget.NewRatio(0.1, 0)
	r := retry.New(retry.WithBudget(shared))
	_ = retry.New(retry.WithBudget(shared))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if r.Execute(ctx, testutil.Nop) != nil {
			b.Fatal()
		}
	}
}

// BenchmarkExhaustedZeroDelay: every attempt fails, with nothing listening
// for the events.
func BenchmarkExhaustedZeroDelay(b *testing.B) {
	r := retry.New(retry.WithDelay(0))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if r.Execute(ctx, testutil.Fail) == nil {
			b.Fatal()
		}
	}
}
