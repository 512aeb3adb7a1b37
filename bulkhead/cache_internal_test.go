package bulkhead

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A Bulkhead caches permits per processor when there are two or more and
// its limit gives each a batch of two or more within a quarter of the
// limit; a smaller one, one on a single processor, and an Adaptive use the
// pool alone.
func TestTheCacheIsOnForLimitsThatShareOut(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	for limit, batch := range map[int]int64{7: 0, 15: 0, 16: 2, 64: 8, 1 << 20: maxBatch} {
		c := New(limit).g.cache
		if batch == 0 {
			assert.Nil(t, c, "limit %d", limit)
			continue
		}
		require.NotNil(t, c, "limit %d", limit)
		assert.Equal(t, batch, c.batch, "limit %d", limit)
		assert.Len(t, c.l, 2)
	}
	assert.Nil(t, NewAdaptive(Vegas(), WithLimits(1000, 1000), WithInitialLimit(1000)).g.cache)
	runtime.GOMAXPROCS(1)
	assert.Nil(t, New(1<<20).g.cache, "one processor")
}

// Permits move between the pool and the caches, never in or out: after
// calls on every path, the pool and the caches hold the limit.
func TestTheCacheHoldsWhatThePoolLent(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	b := New(64)
	for range 100 {
		i, ok := b.g.acquire()
		require.True(t, ok)
		b.g.releaseAt(i)
	}
	var cached int64
	for i := range b.g.cache.l {
		cached += b.g.cache.l[i].free.Load()
	}
	assert.Positive(t, cached)
	assert.LessOrEqual(t, cached, 2*b.g.cache.batch)
	assert.Equal(t, cached, b.g.inflight.Load(), "the pool lent what the caches hold")
	assert.Zero(t, b.g.running())
	b.g.mu.Lock()
	b.g.collectLocked()
	b.g.mu.Unlock()
	assert.Zero(t, b.g.inflight.Load())
}
