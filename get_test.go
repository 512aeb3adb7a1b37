package bulwark_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/bulwark-go/bulwark"
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

func TestGetDropsResultsThatArriveAfterReturn(t *testing.T) {
	// A stage that gives up on its attempt, as an abandoning timeout does.
	started, finish, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	abandon := stageFunc(func(ctx context.Context, next bulwark.Next) error {
		go func() {
			defer close(done)
			_ = next.Run(ctx)
		}()
		<-started
		return errDep
	})
	v, err := bulwark.Get(context.Background(), abandon, func(context.Context) (int, error) {
		close(started)
		<-finish
		return 42, nil
	})
	assert.ErrorIs(t, err, errDep)
	assert.Zero(t, v)
	close(finish)
	<-done
}
