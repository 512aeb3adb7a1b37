package breaker_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark/breaker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A breaker built outside a testing/synctest bubble and used inside it
// reads times before its epoch (the bubble's clock starts in 2000): its
// time window counts them like any others, in buckets of the same width.
func TestTimeWindowCountsTimesBeforeItsEpoch(t *testing.T) {
	b := breaker.New(breaker.WithFailureRatio(0.5), breaker.WithTimeWindow(time.Second, 10), breaker.WithMinimumCalls(4))
	synctest.Test(t, func(t *testing.T) {
		require.NotPanics(t, func() { run(b, "SFS") })
		s := b.Snapshot()
		assert.Equal(t, 3, s.Calls)
		assert.Equal(t, 1, s.Failures)
		time.Sleep(time.Second) // the three calls leave the window
		run(b, "SF")
		assert.Equal(t, breaker.Closed, b.State(), "2 calls in the window, below the minimum")
		run(b, "SF")
		assert.Equal(t, breaker.Open, b.State(), "2 failures of 4")
	})
}
