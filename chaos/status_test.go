package chaos_test

import (
	"context"
	"errors"
	"fmt"
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
// SetEnabled's switch, Failures the faults that made a call fail
// (errors, panics, outcomes that failed it), InFlight the calls held in a delay; the
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
		outcomes := chaos.New(chaos.WithOutcome(1, func(context.Context, error) error { return errReplaced }))
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
		assert.Equal(t, chaos.Snapshot{Outcomes: 1, OutcomeFailures: 1}, outcomes.Snapshot())
		assert.Equal(t, int64(1), outcomes.Status().Failures)
		assert.Zero(t, testing.AllocsPerRun(100, func() { _ = c.Status(); _ = c.Snapshot() }))

		m2 := otest.NewMeter()
		cm := chaos.New(chaos.WithName("calls"), chaos.WithMeterProvider(m2), chaos.WithError(1, errInjected))
		_ = cm.Execute(ctx, testutil.Nop)
		_ = cm.Execute(ctx, testutil.Nop)
		assert.Equal(t, map[string]int64{"failure": 2}, testutil.Calls(t, m2, "chaos", "calls"))
	})
}

// An outcome fault is a failure only when its function made the call fail
// with an error it would not have returned: a success turned into an
// error, or an error replaced by another (a wrapping one included). One
// that hands the outcome back unchanged, or that swallows an error, made
// no call fail: Snapshot counts it in Outcomes, and neither Failures nor
// bulwark.calls counts it.
func TestAnOutcomeIsAFailureOnlyWhenItFailsTheCall(t *testing.T) {
	errOther := errors.New("other")
	for _, x := range []struct {
		name    string
		call    func(context.Context) error
		outcome func(context.Context, error) error
		failure bool
	}{
		{"success kept", testutil.Nop, func(_ context.Context, err error) error { return err }, false},
		{"success made nil", testutil.Nop, func(context.Context, error) error { return nil }, false},
		{"success turned into an error", testutil.Nop, func(context.Context, error) error { return errOther }, true},
		{"error kept", testutil.Fail, func(_ context.Context, err error) error { return err }, false},
		{"error swallowed", testutil.Fail, func(context.Context, error) error { return nil }, false},
		{"error replaced", testutil.Fail, func(context.Context, error) error { return errOther }, true},
		{"error wrapped", testutil.Fail, func(_ context.Context, err error) error { return fmt.Errorf("lost: %w", err) }, true},
		{"uncomparable error kept", func(context.Context) error { return sliceError{"a"} },
			func(_ context.Context, err error) error { return err }, true},
	} {
		m := otest.NewMeter()
		c := chaos.New(chaos.WithName("dep"), chaos.WithMeterProvider(m), chaos.WithOutcome(1, x.outcome))
		c.SetEnabled(true)
		for range 10 {
			_ = c.Execute(context.Background(), x.call)
		}
		want := int64(0)
		if x.failure {
			want = 10
		}
		assert.Equal(t, chaos.Snapshot{Enabled: true, Outcomes: 10, OutcomeFailures: want}, c.Snapshot(), x.name)
		assert.Equal(t, want, c.Status().Failures, x.name)
		assert.Equal(t, map[string]int64{"failure": want}, testutil.Calls(t, m, "chaos", "dep"), x.name)
	}
}

// sliceError is an error that == cannot compare.
type sliceError []string

func (e sliceError) Error() string { return e[0] }
