package redislimit

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLocalBucketsRememberAtMostTheirBoundAndForgetFullOnesFirst(t *testing.T) {
	b := newLocalBuckets(1, 10)
	require.True(t, b.take("busy", 10, 0).Allowed)
	for i := range maxLocalKeys - 1 {
		// Each bucket is full again one second after its token.
		require.True(t, b.take(strconv.Itoa(i), 1, int64(i)).Allowed)
	}
	require.Len(t, b.tat, maxLocalKeys)
	now := int64(2 * time.Second) // the first keys are full again, "busy" is not
	require.True(t, b.take("new", 1, now).Allowed)
	assert.LessOrEqual(t, len(b.tat), maxLocalKeys)
	assert.False(t, b.take("busy", 3, now).Allowed, "a bucket in use (2 tokens back of 10) is not forgotten while full ones can be")
}

func TestLocalBucketsSaturateAtExtremeRates(t *testing.T) {
	for _, limit := range []float64{1e-300, 1e-12, 1e6} {
		b := newLocalBuckets(limit, 1<<40)
		r := b.take("k", 1, 0)
		assert.True(t, r.Allowed, "limit %v", limit)
		assert.GreaterOrEqual(t, r.Remaining, 0, "limit %v", limit)
		r = b.take("k", 1<<40+1, 1<<60)
		assert.Equal(t, time.Duration(-1), r.RetryAfter, "limit %v: above the burst", limit)
	}
	b := newLocalBuckets(1e-300, 1)
	require.True(t, b.take("k", 1, 0).Allowed)
	r := b.take("k", 1, 1<<60)
	assert.False(t, r.Allowed, "a token every 73 years or more has not come back in 36")
	assert.Positive(t, r.RetryAfter)
}
