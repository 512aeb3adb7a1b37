package testutil

import (
	"context"
	"math"
	"time"
)

// Nop is a protected function that succeeds at once.
func Nop(context.Context) error { return nil }

// Fail is a protected function that fails at once with ErrDep.
func Fail(context.Context) error { return ErrDep }

// SleepCtx waits for d or until ctx is done, as a well-behaved call does,
// and returns ctx.Err() if ctx ended the wait.
func SleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Recovered runs f and returns what it panicked with, or nil.
func Recovered(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}

// NaN returns a NaN, a value every option that takes a float must reject.
func NaN() float64 { return math.NaN() }
