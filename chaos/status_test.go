package chaos_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/chaos"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/stretchr/testify/assert"
)

// Status maps the faults into the shape every policy shares: State is
// SetEnabled's switch, Failures the faults that changed an outcome
// (errors, panics, outcomes), InFlight the calls held in a delay; the
// delays so far, and each kind, are in Snapshot. bulwark.calls exports
// Failures as outcome "failure".
func TestStatusAndSnapshot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := otest.NewMeter()
		c := chaos.New(chaos.WithName("dep"), chaos.WithMeterProvider(m), chaos.WithSeed(1),
			chaos.WithLatency(1, time.Second, 0))
		assert.Equal(t, bulwark.Status{Kind: "chaos", Name: "dep", State: "disabled"}, c.Status())
		c.SetEnabled(true)
		_ = c.Execute(context.Background(), testutil.Nop)
		assert.Equal(t, bulwark.Status{Kind: "chaos", Name: "dep", State: "enabled"}, c.Status())
		assert.Equal(t, chaos.Snapshot{Enabled: true, Latencies: 1}, c.Snapshot())

		errs := chaos.New(chaos.WithName("dep"), chaos.WithMeterProvider(m),
			chaos.WithError(1, errInjected))
		panics := chaos.New(chaos.WithPanic(1))
		outcomes := chaos.New(chaos.WithOutcome(1, func(context.Context, error) error { return nil }))
		ctx := chaos.Enable(context.Background())
		for range 3 {
			_ = errs.Execute(ctx, testutil.Nop)
			_ = testutil.Recovered(func() { _ = panics.Execute(ctx, testutil.Nop) })
		}
		_ = outcomes.Execute(ctx, testutil.Nop)
		assert.Equal(t, bulwark.Status{Kind: "chaos", Name: "dep", State: "disabled", Failures: 3}, errs.Status(),
			"Enable does not change State")
		assert.Equal(t, chaos.Snapshot{Errors: 3}, errs.Snapshot())
		assert.Equal(t, chaos.Snapshot{Panics: 3}, panics.Snapshot())
		assert.Equal(t, int64(3), panics.Status().Failures)
		assert.Equal(t, chaos.Snapshot{Outcomes: 1}, outcomes.Snapshot())
		assert.Equal(t, int64(1), outcomes.Status().Failures)
		assert.Zero(t, testing.AllocsPerRun(100, func() { _ = c.Status(); _ = c.Snapshot() }))

		m2 := otest.NewMeter()
		cm := chaos.New(chaos.WithName("calls"), chaos.WithMeterProvider(m2), chaos.WithError(1, errInjected))
		_ = cm.Execute(ctx, testutil.Nop)
		_ = cm.Execute(ctx, testutil.Nop)
		assert.Equal(t, map[string]int64{"failure": 2}, testutil.Calls(t, m2, "chaos", "calls"))
	})
}
