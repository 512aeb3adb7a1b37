package bulkhead_test

import (
	"context"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A zero Bulkhead or Adaptive has no limit to enforce: every call returns
// an error naming the type, and nothing panics.
func TestZeroBulkheadsReturnAnErrorNamingTheType(t *testing.T) {
	for name, p := range map[string]interface {
		bulwark.Policy
		Snapshot() bulkhead.Snapshot
	}{
		"bulkhead.Bulkhead": &bulkhead.Bulkhead{},
		"bulkhead.Adaptive": &bulkhead.Adaptive{},
	} {
		t.Run(name, func(t *testing.T) {
			ran := false
			var err error
			require.NotPanics(t, func() {
				err = p.Execute(context.Background(), func(context.Context) error { ran = true; return nil })
			})
			require.ErrorIs(t, err, bulkhead.ErrZeroValue)
			assert.Contains(t, err.Error(), name)
			assert.NotErrorIs(t, err, bulwark.ErrRejected, "a zero value is a programming error, not a rejection")
			assert.False(t, ran)
			require.NotPanics(t, func() {
				err = bulwark.New(p).Execute(context.Background(), nop)
			})
			assert.ErrorIs(t, err, bulkhead.ErrZeroValue, "as a stage of a pipeline too")
			assert.Equal(t, bulkhead.Snapshot{}, p.Snapshot())
		})
	}
	var a bulkhead.Adaptive
	assert.Zero(t, a.Limit())
}

// A zero Throttler works as NewThrottler() does: K 2, a 2-minute window
// and a 0.9 cap.
func TestZeroThrottlerWorksWithTheDefaults(t *testing.T) {
	var zero bulkhead.Throttler
	built := bulkhead.NewThrottler()
	for _, th := range []*bulkhead.Throttler{&zero, built} {
		require.NotPanics(t, func() { assert.Zero(t, th.Probability()) })
		require.NoError(t, th.Execute(context.Background(), nop))
		for range 99 {
			_ = th.Execute(context.Background(), func(context.Context) error { return errOverloaded })
		}
	}
	// 100 requests, 1 accept: (100 − 2)/(100 + 1) is past the 0.9 cap.
	assert.InDelta(t, 0.9, zero.Probability(), 1e-9)
	assert.InDelta(t, built.Probability(), zero.Probability(), 1e-9)
}
