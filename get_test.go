package bulwark_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/fallback"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGetReturnsTheResult(t *testing.T) {
	p := bulwark.New(fallbacks(2)...)
	v, err := bulwark.Get(context.Background(), p, func(context.Context) (string, error) { return "ok", nil })
	require.NoError(t, err)
	assert.Equal(t, "ok", v)

	v, err = bulwark.Get(context.Background(), bulwark.New(), func(context.Context) (string, error) { return "partial", errDep })
	assert.ErrorIs(t, err, errDep)
	assert.Equal(t, "", v, "a failed call's value is not returned")

	_, err = bulwark.Get[int](context.Background(), p, nil)
	assert.ErrorIs(t, err, bulwark.ErrNilFunc)
}

func TestGetKeepsTheFirstSuccessOfConcurrentAttempts(t *testing.T) {
	// Two attempts run at once, as under hedging: the first to succeed is
	// kept, and the race detector sees no race on the result.
	release := make(chan struct{})
	twice := stageFunc(func(ctx context.Context, next bulwark.Next) error {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range 2 {
			wg.Go(func() { errs[i] = next.Run(context.WithValue(ctx, attemptKey{}, i)) })
		}
		wg.Wait()
		return errors.Join(errs...)
	})
	v, err := bulwark.Get(context.Background(), twice, func(ctx context.Context) (int, error) {
		if ctx.Value(attemptKey{}) == 1 {
			defer close(release) // attempt 1 finishes first
			return 1, nil
		}
		<-release
		return 0, nil
	})
	require.NoError(t, err)
	assert.Equal(t, 1, v)
}

type attemptKey struct{}

// A stage may fail a call whose attempt succeeded (an abandoning timeout
// whose deadline fired as the attempt returned, say): the attempt's value
// goes with the call, and one that arrives after Get has returned changes
// nothing.
func TestGetDropsTheResultsOfAFailedCall(t *testing.T) {
	late, done := make(chan struct{}), make(chan struct{})
	abandon := stageFunc(func(ctx context.Context, next bulwark.Next) error {
		_ = next.Run(ctx) // succeeds before the stage gives up
		go func() {
			defer close(done)
			<-late
			_ = next.Run(ctx) // succeeds after Get has returned
		}()
		return errDep
	})
	n := 0
	v, err := bulwark.Get(context.Background(), abandon, func(context.Context) (int, error) {
		n++
		return 40 + n, nil
	})
	assert.ErrorIs(t, err, errDep)
	assert.Zero(t, v, "the value of an attempt that succeeded does not leak through a failed call")
	close(late)
	<-done
	assert.Equal(t, 2, n, "the late attempt ran")
}

type user struct{ Name string }

// The README's pipeline, through Get: the fallback supplies the value the
// caller receives.
func TestGetReceivesTheValueAFallbackSupplies(t *testing.T) {
	p := bulwark.New(
		fallback.New(func(ctx context.Context, err error) error {
			bulwark.Supply(ctx, user{Name: "cached"})
			return nil
		}),
		timeout.New(time.Second),
		retry.New(retry.WithMaxAttempts(3), retry.WithDelay(0)),
		breaker.New(breaker.WithConsecutiveFailures(5)),
		timeout.New(200*time.Millisecond),
	)
	calls := 0
	u, err := bulwark.Get(context.Background(), p, func(context.Context) (user, error) {
		calls++
		return user{Name: "partial"}, errDep
	})
	require.NoError(t, err)
	assert.Equal(t, user{Name: "cached"}, u)
	assert.Equal(t, 3, calls)

	u, err = bulwark.Get(context.Background(), p, func(context.Context) (user, error) { return user{Name: "live"}, nil })
	require.NoError(t, err)
	assert.Equal(t, user{Name: "live"}, u, "a fallback that did not run supplies nothing")
}

func TestSupplyReachesTheInnermostGetOfItsType(t *testing.T) {
	ctx := context.Background()
	assert.False(t, bulwark.Supply(ctx, 1), "no Get around ctx")
	outer, err := bulwark.Get(ctx, bulwark.New(), func(ctx context.Context) (string, error) {
		inner, err := bulwark.Get(ctx, bulwark.New(), func(ctx context.Context) (int, error) {
			assert.True(t, bulwark.Supply(ctx, 7))
			assert.True(t, bulwark.Supply(ctx, "outer"), "the string Get is further out")
			assert.False(t, bulwark.Supply(ctx, 1.5), "no Get of float64")
			return 0, errDep
		})
		assert.ErrorIs(t, err, errDep)
		assert.Zero(t, inner, "a failed call returns the zero value, supplied or not")
		return "", nil
	})
	require.NoError(t, err)
	assert.Equal(t, "outer", outer)
}

func TestSupplyKeepsAnEarlierSuccess(t *testing.T) {
	v, err := bulwark.Get(context.Background(), bulwark.New(), func(ctx context.Context) (int, error) {
		bulwark.Supply(ctx, 1)
		bulwark.Supply(ctx, 2)
		return 3, nil
	})
	require.NoError(t, err)
	assert.Equal(t, 1, v, "the first value supplied or returned wins")
}

func TestGetWithoutAValueReturnsTheZeroValue(t *testing.T) {
	p := bulwark.New(fallback.New(func(context.Context, error) error { return nil }))
	v, err := bulwark.Get(context.Background(), p, func(context.Context) (int, error) { return 5, errDep })
	require.NoError(t, err, "the fallback turned the failure into a success")
	assert.Zero(t, v, "and supplied no value: documented, see Supply")
}

// Get's cell is the context of the call; a context derived from it must not
// need a goroutine to follow the caller's cancellation, as contexts of a
// foreign type do.
func TestContextsDerivedInsideGetFollowCancellationWithoutAGoroutine(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	var before, during int
	_, err := bulwark.Get(parent, bulwark.New(), func(ctx context.Context) (int, error) {
		before = runtime.NumGoroutine()
		child, stop := context.WithTimeout(ctx, time.Hour)
		defer stop()
		during = runtime.NumGoroutine()
		cancel()
		<-child.Done()
		return 0, child.Err()
	})
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, before, during)
}
