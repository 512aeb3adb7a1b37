package redisx

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// A recheck interval of any length, up to the longest Duration, is not due
// at once: the time of the next recheck saturates instead of wrapping
// around to one in the past.
func TestHealthRecheckSaturates(t *testing.T) {
	for _, d := range []time.Duration{time.Hour, math.MaxInt64 / 2, math.MaxInt64} {
		var h Health
		assert.True(t, h.Failed(d), "%v: the first failure degrades", d)
		assert.False(t, h.Ask(d), "%v: the recheck is not due yet", d)
		assert.False(t, h.Failed(d), "%v: a second failure changes nothing", d)
		assert.False(t, h.Ask(d), "%v: nor after it", d)
	}
}
