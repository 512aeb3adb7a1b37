package timeout_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/bulwark-go/bulwark/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A Timeout counts the calls whose own deadline fired, abandoned or not;
// not the calls that finish in time, fail in time, or end with the
// caller's cancellation or earlier deadline.
func TestStatusCountsTimeouts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := otest.NewMeter()
		tm := timeout.New(10*time.Millisecond, timeout.WithName("db"), timeout.WithMeterProvider(m))
		ab := timeout.New(10*time.Millisecond, timeout.WithAbandon())
		ctx := context.Background()
		assert.Equal(t, bulwark.Status{Kind: "timeout", Name: "db"}, tm.Status())

		require.NoError(t, tm.Execute(ctx, testutil.Nop))
		require.Equal(t, testutil.ErrDep, tm.Execute(ctx, testutil.Fail))
		require.ErrorIs(t, tm.Execute(ctx, waitDone), timeout.ErrTimeout)
		require.ErrorIs(t, tm.Execute(ctx, func(ctx context.Context) error { <-ctx.Done(); return testutil.ErrDep }), timeout.ErrTimeout)
		early, cancel := context.WithTimeout(ctx, time.Millisecond)
		require.Equal(t, context.DeadlineExceeded, tm.Execute(early, waitDone))
		cancel()
		canceled, cancel := context.WithCancel(ctx)
		time.AfterFunc(time.Millisecond, cancel)
		require.Equal(t, context.Canceled, tm.Execute(canceled, waitDone))

		release := make(chan struct{})
		require.ErrorIs(t, ab.Execute(ctx, func(context.Context) error { <-release; return nil }), timeout.ErrTimeout)
		close(release)
		synctest.Wait()

		assert.Equal(t, bulwark.Status{Kind: "timeout", Name: "db", Failures: 2}, tm.Status())
		assert.Equal(t, bulwark.Status{Kind: "timeout", Failures: 1}, ab.Status())
		assert.Equal(t, map[string]int64{"failure": 2}, testutil.Calls(t, m, "timeout", "db"), "bulwark.calls")
		assert.Zero(t, testing.AllocsPerRun(100, func() { _ = tm.Status() }))
		var zero timeout.Timeout
		_ = zero.Execute(ctx, testutil.Nop)
		assert.Equal(t, bulwark.Status{Kind: "timeout"}, zero.Status())
	})
}

// Status may be read while calls time out: the race detector watches, and
// no count is lost.
func TestStatusIsSafeDuringCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tm := timeout.New(time.Millisecond)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 50 {
					_ = tm.Execute(context.Background(), waitDone)
				}
			})
		}
		wg.Go(func() {
			for range 50 {
				assert.LessOrEqual(t, tm.Status().Failures, int64(200))
				time.Sleep(time.Millisecond)
			}
		})
		wg.Wait()
		assert.Equal(t, int64(200), tm.Status().Failures)
	})
}
