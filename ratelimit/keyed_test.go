package ratelimit_test

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type tenantKey struct{}

func tenant(ctx context.Context) string {
	s, _ := ctx.Value(tenantKey{}).(string)
	return s
}

func as(name string) context.Context {
	return context.WithValue(context.Background(), tenantKey{}, name)
}

func TestKeysHaveBucketsOfTheirOwn(t *testing.T) {
	k := ratelimit.NewKeyed(1, 2, tenant)
	for range 2 {
		require.NoError(t, k.Execute(as("a"), nop))
	}
	assert.ErrorIs(t, k.Execute(as("a"), nop), ratelimit.ErrLimited)
	require.NoError(t, k.Execute(as("b"), nop), "b is not limited by a")
	assert.Equal(t, 2, k.Len())
	s := k.Snapshot()
	assert.Equal(t, 2, s.Keys)
	assert.Equal(t, int64(1), s.Rejected)
}

// A flood of a million distinct keys against a limiter capped at 10000
// keys: at most 10000 are remembered, the heap stays bounded, and a key in
// steady use is never evicted.
func TestKeyFloodKeepsMemoryBoundedAndHotKeysAlive(t *testing.T) {
	if testing.Short() {
		t.Skip("floods a million keys")
	}
	k := ratelimit.NewKeyed(1, 5, tenant, ratelimit.WithMaxKeys(10000))
	hot := as("hot")
	for range 5 {
		require.NoError(t, k.Execute(hot, nop)) // empty the hot key's bucket
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	ctx := context.Background()
	for i := range 1_000_000 {
		_ = k.Execute(context.WithValue(ctx, tenantKey{}, strconv.Itoa(i)), nop)
		if i%1000 == 0 {
			_ = k.Execute(hot, nop) // the hot key keeps being used
		}
		if i%100_000 == 0 {
			assert.LessOrEqual(t, k.Len(), 10000)
		}
	}
	assert.Equal(t, 10000, k.Len())

	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	growth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("heap growth after 1,000,000 keys capped at 10,000: %d KiB (%d B a key)", growth/1024, growth/10000)
	assert.Less(t, growth, int64(8<<20), "10000 keys must fit in 8 MiB")

	tokens, ok := k.Tokens("hot")
	require.True(t, ok, "the hot key survived the flood")
	assert.Less(t, tokens, 5.0, "and kept its bucket: it was not reset to a full burst")
}

func TestIdleKeysAreForgotten(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 100 keys fit in one lock's shard, where every call sweeps.
		k := ratelimit.NewKeyed(1, 1, tenant, ratelimit.WithIdleExpiry(time.Minute), ratelimit.WithMaxKeys(100))
		require.NoError(t, k.Execute(as("a"), nop))
		require.NoError(t, k.Execute(as("b"), nop))
		time.Sleep(30 * time.Second)
		require.NoError(t, k.Execute(as("c"), nop))
		time.Sleep(31 * time.Second) // a and b idle 61s, c 31s
		require.NoError(t, k.Execute(as("c"), nop), "c is remembered and refilled; using it sweeps idle keys")
		_, ok := k.Tokens("a")
		assert.False(t, ok, "a was forgotten")
		_, ok = k.Tokens("b")
		assert.False(t, ok, "b was forgotten")
		assert.Equal(t, 1, k.Len())
	})
}

func TestLeastRecentlyUsedKeyIsEvicted(t *testing.T) {
	k := ratelimit.NewKeyed(1, 1, tenant, ratelimit.WithMaxKeys(2))
	require.NoError(t, k.Execute(as("a"), nop))
	require.NoError(t, k.Execute(as("b"), nop))
	_ = k.Execute(as("a"), nop) // a is now the most recent
	require.NoError(t, k.Execute(as("c"), nop))
	_, ok := k.Tokens("b")
	assert.False(t, ok, "b was used least recently")
	_, ok = k.Tokens("a")
	assert.True(t, ok)
}
