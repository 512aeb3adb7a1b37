package coalesce_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/coalesce"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Each waiter that receives a shared outcome is an EventShared
// ("shared") with the outcome's error, and each stale value served an
// EventStale ("stale"): counted in bulwark.events, added to the waiter's
// span, passed to observers.
func TestSharedAndStaleAreEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		assert.Equal(t, "shared", coalesce.EventShared.String())
		assert.Equal(t, "stale", coalesce.EventStale.String())
		m := otest.NewMeter()
		sr, tp := otest.Tracing()
		var seen otest.Events
		stale := true
		c := coalesce.New(byKey, coalesce.WithName("users"), coalesce.WithObserver(seen.Observe),
			coalesce.WithStaleWhileRevalidate(time.Minute, func(context.Context, string) (int, time.Time, bool) {
				return 1, time.Now(), stale
			}))
		p := bulwark.New(c).With(bulwark.WithName("api"), bulwark.WithMeterProvider(m))
		g := newGate()
		ctx := withKey(context.Background(), "k")
		var wg sync.WaitGroup
		wg.Go(func() {
			_ = p.Execute(ctx, func(ctx context.Context) error { _ = g.wait(ctx); return testutil.ErrDep })
		})
		synctest.Wait()
		sctx, span := tp.Tracer("test").Start(ctx, "waiter")
		assert.NoError(t, p.Execute(sctx, testutil.Nop), "stale")
		stale = false
		wg.Go(func() { assert.Equal(t, testutil.ErrDep, p.Execute(sctx, testutil.Nop)) })
		synctest.Wait()
		close(g.release)
		wg.Wait()
		span.End()

		m.AssertEvents(t,
			otest.EventPoint("api", "coalesce", "users", "stale", 1),
			otest.EventPoint("api", "coalesce", "users", "shared", 1))
		events := sr.Ended()[0].Events()
		require.Len(t, events, 2)
		assert.Equal(t, "bulwark.coalesce.stale", events[0].Name)
		assert.Equal(t, "bulwark.coalesce.shared", events[1].Name)
		assert.Equal(t, []bulwark.Event{
			{Type: coalesce.EventStale, Policy: "coalesce", Name: "users", Pipeline: "api"},
			{Type: coalesce.EventShared, Policy: "coalesce", Name: "users", Pipeline: "api", Err: testutil.ErrDep},
		}, seen.List())
	})
}

// Status and Snapshot read without a lock and allocate nothing.
func TestStatusAllocatesNothing(t *testing.T) {
	c := coalesce.New(byKey, coalesce.WithName("users"))
	assert.Equal(t, bulwark.Status{Kind: "coalesce", Name: "users"}, c.Status())
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = c.Status(); _ = c.Snapshot() }))
}
