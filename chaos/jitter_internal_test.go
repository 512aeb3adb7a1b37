package chaos

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// fixed returns the same number for ever.
type fixed uint64

func (f fixed) Uint64() uint64 { return uint64(f) }

// The jitter's band ends are reached and never passed, and a band that
// reaches past math.MaxInt64 saturates there.
func TestJitterBandEndsAndSaturation(t *testing.T) {
	lowest := func(n uint64) fixed { return fixed(math.MaxUint64 / n) } // the draw uint64n maps to 0
	assert.Equal(t, 4*time.Second, jittered(lowest(2*uint64(time.Second)+1), 5*time.Second, time.Second))
	assert.Equal(t, 6*time.Second, jittered(fixed(math.MaxUint64), 5*time.Second, time.Second))
	assert.Equal(t, time.Duration(math.MaxInt64), jittered(fixed(math.MaxUint64), math.MaxInt64, math.MaxInt64))
	assert.Equal(t, time.Duration(0), jittered(lowest(math.MaxUint64), math.MaxInt64, math.MaxInt64))
	assert.Equal(t, time.Duration(math.MaxInt64), jittered(fixed(math.MaxUint64), math.MaxInt64-1, 1))
}

// A share's bound is its cumulative rate scaled to 2^64; a sum of 1
// picks every draw, a rate of 0 none.
func TestShares(t *testing.T) {
	assert.Equal(t, share{lim: 1 << 63}, shareOf(0.5, "WithError", ""))
	assert.Equal(t, share{always: true}, shareOf(1, "WithError", ""))
	assert.False(t, shareOf(0, "WithError", "").picks(0))
	assert.True(t, shareOf(1, "WithError", "").picks(math.MaxUint64))
	assert.Equal(t, uint64(18446744), shareOf(1e-12, "WithError", "").lim)
}
