package fallback_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/fallback"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A Fallback counts the failed calls whose outcome its function replaced,
// whatever the function returned, a recovered panic included; not the
// calls that succeed, the errors WithHandleIf turns down, or the caller's
// cancellation.
func TestStatusCountsFallbacks(t *testing.T) {
	m := otest.NewMeter()
	errSkip := errors.New("not handled")
	f := fallback.New(func(_ context.Context, err error) error {
		if errors.Is(err, bulwark.ErrRejected) {
			return err // handled, and returned as it is
		}
		return nil
	}, fallback.WithName("cache"), fallback.WithMeterProvider(m), fallback.WithRecover(),
		fallback.WithHandleIf(func(err error) bool { return err != errSkip }))
	ctx := context.Background()
	assert.Equal(t, bulwark.Status{Kind: "fallback", Name: "cache"}, f.Status())

	require.NoError(t, f.Execute(ctx, testutil.Nop))
	require.NoError(t, f.Execute(ctx, testutil.Fail))
	require.ErrorIs(t, f.Execute(ctx, func(context.Context) error { return testutil.ErrRejected }), bulwark.ErrRejected)
	require.NoError(t, f.Execute(ctx, func(context.Context) error { panic("boom") }))
	require.Equal(t, errSkip, f.Execute(ctx, func(context.Context) error { return errSkip }))
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	require.Equal(t, context.Canceled, f.Execute(canceled, func(ctx context.Context) error { return ctx.Err() }))

	assert.Equal(t, bulwark.Status{Kind: "fallback", Name: "cache", Failures: 3}, f.Status())
	assert.Equal(t, map[string]int64{"failure": 3}, testutil.Calls(t, m, "fallback", "cache"), "bulwark.calls")
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = f.Status() }))
	var zero fallback.Fallback
	_ = zero.Execute(ctx, testutil.Fail)
	assert.Equal(t, bulwark.Status{Kind: "fallback"}, zero.Status())
}

// Status may be read while calls fall back: the race detector watches,
// and no count is lost.
func TestStatusIsSafeDuringCalls(t *testing.T) {
	f := fallback.New(func(context.Context, error) error { return nil })
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				_ = f.Execute(context.Background(), testutil.Fail)
			}
		})
	}
	wg.Go(func() {
		for range 100 {
			assert.LessOrEqual(t, f.Status().Failures, int64(400))
		}
	})
	wg.Wait()
	assert.Equal(t, int64(400), f.Status().Failures)
}
