package bulkhead

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// fixed is an Algorithm that always answers the same limit.
type fixed float64

func (f fixed) Update(float64, Sample) float64 { return float64(f) }
func (fixed) name() string                     { return "fixed" }

// Whatever an algorithm answers, the limit stays within the bounds: a NaN
// leaves it where it was, and infinities are clamped.
func TestAdaptiveLimitStaysWithinBoundsWhateverTheAlgorithmSays(t *testing.T) {
	for _, tc := range []struct {
		answer float64
		want   int
	}{
		{math.NaN(), 5}, {math.Inf(1), 8}, {math.Inf(-1), 2}, {-7, 2}, {1e300, 8}, {6.4, 6}, {6.5, 7},
	} {
		a := NewAdaptive(fixed(tc.answer), WithLimits(2, 8), WithInitialLimit(5), WithSampleWindow(time.Nanosecond))
		for range minWindowSamples {
			_ = a.Execute(context.Background(), func(context.Context) error { return nil })
		}
		assert.Equal(t, tc.want, a.Limit(), "the algorithm answered %v", tc.answer)
	}
}

func TestRoundSaturates(t *testing.T) {
	a := &Adaptive{minI: 1, maxI: math.MaxInt64}
	assert.Equal(t, int64(math.MaxInt64), a.round(float64(math.MaxInt64)))
	assert.Equal(t, int64(math.MaxInt64), a.round(math.Inf(1)))
	assert.Equal(t, int64(1), a.round(0.2))
	assert.Equal(t, time.Duration(math.MaxInt64), addSat(math.MaxInt64-1, 2))
}
