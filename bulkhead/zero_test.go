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
