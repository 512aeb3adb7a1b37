package throttle_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/throttle"
	"github.com/stretchr/testify/assert"
)

// used runs a success, failures and a local rejection through th, so that
// what a throttler allocates lazily is allocated.
func used(th *throttle.Throttler) {
	ctx := context.Background()
	_ = th.Execute(ctx, nop)
	for range 100 {
		_ = th.Execute(ctx, overloaded)
	}
}

// Throttlers are built by the thousand (per host, per tenant): each is
// small, and a dropped one is collected, with the global meter provider
// and with an SDK one.
func TestThrottlersAreSmallAndCollected(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	per := otest.HeapPerInstance(2000, func() *throttle.Throttler {
		th := throttle.New()
		used(th)
		return th
	})
	t.Logf("throttle.Throttler, used, global provider: %.0f bytes per instance at GOMAXPROCS 2", per)
	assert.Less(t, per, 2048.0)
	m := otest.NewMeter()
	sdk := otest.HeapPerInstance(2000, func() *throttle.Throttler {
		th := throttle.New(throttle.WithMeterProvider(m))
		used(th)
		return th
	})
	t.Logf("throttle.Throttler, used, SDK provider: %.0f bytes per instance", sdk)
	assert.Less(t, sdk, 2048.0)

	for name, opts := range map[string][]throttle.Option{
		"global provider": nil,
		"SDK provider":    {throttle.WithMeterProvider(m)},
	} {
		assert.True(t, otest.Collected(func() *throttle.Throttler { return throttle.New(opts...) }, used), name)
	}
}
