package chaos_test

import (
	"context"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/chaos"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/stretchr/testify/assert"
)

// Disabled, a Chaos allocates nothing, alone or in a pipeline, whatever
// faults it holds, with or without a predicate; enabled, a call
// without a fault or with an injected error allocates nothing either when
// nothing listens, seeded or not.
func TestNoAllocationDisabledOrInjectingErrors(t *testing.T) {
	ctx := context.Background()
	off := func(context.Context) bool { return false }
	for name, c := range map[string]*chaos.Chaos{
		"faults":              faulty(),
		"faults, predicate":   chaos.New(chaos.WithError(1, errInjected), chaos.WithEnabled(off)),
		"faults, seeded":      chaos.New(chaos.WithError(1, errInjected), chaos.WithSeed(1)),
		"no faults":           chaos.New(),
		"zero":                new(chaos.Chaos),
		"baggage, no baggage": chaos.New(chaos.WithError(1, errInjected), chaos.WithEnabled(chaos.BaggageEnabled)),
	} {
		for how, p := range map[string]bulwark.Policy{"alone": c, "in a pipeline": bulwark.New(c)} {
			assert.Zero(t, testing.AllocsPerRun(1000, func() { _ = p.Execute(ctx, testutil.Nop) }), "%s, %s", name, how)
		}
	}
	enabled := chaos.Enable(ctx)
	for name, c := range map[string]*chaos.Chaos{
		"unseeded": chaos.New(chaos.WithError(1, errInjected)),
		"seeded":   chaos.New(chaos.WithError(0.5, errInjected), chaos.WithSeed(1)),
		"no fault": chaos.New(chaos.WithError(0, errInjected), chaos.WithLatency(0, time.Second, 0)),
	} {
		assert.Zero(t, testing.AllocsPerRun(1000, func() { _ = c.Execute(enabled, testutil.Nop) }), name)
	}
}
