package throttle_test

import (
	"context"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/throttle"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A zero Throttler works as New() does: K 2, a 2-minute window and a 0.9
// cap.
func TestZeroThrottlerWorksWithTheDefaults(t *testing.T) {
	var zero throttle.Throttler
	require.NotPanics(t, func() { assert.Zero(t, zero.Probability()) }, "before its first call")
	assert.Equal(t, bulwark.Status{Kind: "throttler"}, zero.Status())
	built := throttle.New()
	for _, th := range []*throttle.Throttler{&zero, built} {
		require.NoError(t, th.Execute(context.Background(), nop))
		for range 99 {
			_ = th.Execute(context.Background(), overloaded)
		}
	}
	// 100 requests, 1 accept: (100 − 2)/(100 + 1) is past the 0.9 cap.
	assert.InDelta(t, 0.9, zero.Probability(), 1e-9)
	assert.InDelta(t, built.Probability(), zero.Probability(), 1e-9)
	assert.Positive(t, zero.Status().Rejected)
	require.NoError(t, bulwark.New(&throttle.Throttler{}).Execute(context.Background(), nop), "as a stage too")
}
