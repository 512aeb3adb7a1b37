package benchmarks

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/chaos"
	"github.com/bulwark-go/bulwark/fallback"
	"github.com/stretchr/testify/assert"
)

var errInjected = errors.New("injected")

// disabledChaos is a Chaos configured as one under test would be, left
// disabled: what it costs in production.
func disabledChaos() *chaos.Chaos {
	return chaos.New(
		chaos.WithError(0.3, errInjected),
		chaos.WithLatency(0.1, time.Second, 100*time.Millisecond),
		chaos.WithPanic(0.01),
	)
}

// BenchmarkChaosDisabled: a disabled Chaos against a stage that does
// nothing on the success path (a fallback), alone and as the fifth stage
// of a pipeline, in the same run.
func BenchmarkChaosDisabled(b *testing.B) {
	b.Run("direct", func(b *testing.B) { bench(b, direct, nop, false) })
	b.Run("fallback", func(b *testing.B) { bench(b, bulwarkFallback(), nop, false) })
	b.Run("chaos", func(b *testing.B) { bench(b, disabledChaos().Execute, nop, false) })
	pipeline := func(last bulwark.Policy) runner {
		return bulwark.New(fallback.New(recovered), fallback.New(recovered), fallback.New(recovered),
			fallback.New(recovered), last).Execute
	}
	b.Run("pipeline/fallback", func(b *testing.B) { bench(b, pipeline(fallback.New(recovered)), nop, false) })
	b.Run("pipeline/chaos", func(b *testing.B) { bench(b, pipeline(disabledChaos()), nop, false) })
}

func BenchmarkChaosDisabledParallel(b *testing.B) {
	b.Run("fallback", func(b *testing.B) { benchParallel(b, bulwarkFallback(), nop, false) })
	b.Run("chaos", func(b *testing.B) { benchParallel(b, disabledChaos().Execute, nop, false) })
}

// The disabled harness injects nothing; enabled, it does.
func TestChaosHarnessIsDisabled(t *testing.T) {
	c := disabledChaos()
	for range 1000 {
		assert.NoError(t, c.Execute(context.Background(), nop))
	}
	c.SetEnabled(true)
	injected := 0
	for range 1000 {
		func() {
			defer func() { _ = recover() }()
			if c.Execute(context.Background(), nop) != nil {
				injected++
			}
		}()
	}
	assert.Greater(t, injected, 200)
}
