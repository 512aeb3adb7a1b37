package benchmarks

import (
	"context"
	"errors"
	"time"

	"golang.org/x/sync/semaphore"
	"golang.org/x/time/rate"
)

// direct calls the function with no protection: the floor.
func direct(ctx context.Context, fn func(context.Context) error) error { return fn(ctx) }

// withTimeout is the standard library's deadline, which every cooperative
// timeout is built on.
func withTimeout(d time.Duration) runner {
	return func(ctx context.Context, fn func(context.Context) error) error {
		ctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		return fn(ctx)
	}
}

// xrateAllow is golang.org/x/time/rate's Allow, which bulwark's token
// bucket is built on: its floor.
func xrateAllow() runner {
	lim := rate.NewLimiter(1e12, 1<<30)
	return func(ctx context.Context, fn func(context.Context) error) error {
		if !lim.Allow() {
			return errLimited
		}
		return fn(ctx)
	}
}

var errLimited = errors.New("limited")

// chanSemaphore is the buffered-channel semaphore many services write by
// hand.
func chanSemaphore() runner {
	sem := make(chan struct{}, 1<<20)
	return func(ctx context.Context, fn func(context.Context) error) error {
		select {
		case sem <- struct{}{}:
		default:
			return errLimited
		}
		defer func() { <-sem }()
		return fn(ctx)
	}
}

// xsyncSemaphore is golang.org/x/sync/semaphore, trying without waiting.
func xsyncSemaphore() runner {
	sem := semaphore.NewWeighted(1 << 20)
	return func(ctx context.Context, fn func(context.Context) error) error {
		if !sem.TryAcquire(1) {
			return errLimited
		}
		defer sem.Release(1)
		return fn(ctx)
	}
}

// timerResetStop arms a timer for d around the call and stops it after,
// the floor of a hedge that does not fire. fired is called if the timer
// ever fires.
func timerResetStop(d time.Duration, fired func()) runner {
	t := time.AfterFunc(time.Hour, fired)
	t.Stop()
	return func(ctx context.Context, fn func(context.Context) error) error {
		t.Reset(d)
		err := fn(ctx)
		t.Stop()
		return err
	}
}
