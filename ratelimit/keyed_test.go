package ratelimit_test

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"
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

// Below the cap nothing is evicted: 9,500 keys used in turn under a cap
// of 10,000 keep their buckets, so no round gives any of them a fresh
// burst.
func TestKeysBelowTheCapKeepTheirBuckets(t *testing.T) {
	const keys = 9500
	k := ratelimit.NewKeyed(1e-6, 1, tenant, ratelimit.WithMaxKeys(10000))
	ctxs := make([]context.Context, keys)
	for i := range ctxs {
		ctxs[i] = as("key-" + strconv.Itoa(i))
	}
	for i, ctx := range ctxs {
		require.NoError(t, k.Execute(ctx, nop), "key %d: its first call has the burst", i)
	}
	for round := range 3 {
		fresh := 0
		for _, ctx := range ctxs {
			if k.Execute(ctx, nop) == nil {
				fresh++
			}
		}
		assert.Zero(t, fresh, "round %d: keys that got a fresh burst", round)
	}
	assert.Equal(t, keys, k.Len())
}

// At the cap, a new key evicts one key, so the count stays at the cap.
func TestTheCapIsWhatIsKept(t *testing.T) {
	for _, maxKeys := range []int{3, 1000, 1024, 5000} {
		k := ratelimit.NewKeyed(1e-6, 1, tenant, ratelimit.WithMaxKeys(maxKeys))
		for i := range maxKeys {
			require.NoError(t, k.Execute(as(strconv.Itoa(i)), nop))
		}
		assert.Equal(t, maxKeys, k.Len(), "all %d keys fit", maxKeys)
		for i := range maxKeys {
			_, ok := k.Tokens(strconv.Itoa(i))
			require.True(t, ok, "key %d of %d was kept", i, maxKeys)
		}
		for i := range 3 * maxKeys {
			_ = k.Execute(as("new-"+strconv.Itoa(i)), nop)
			require.Equal(t, maxKeys, k.Len())
		}
	}
}

// An idle key is forgotten only once its bucket is full again, so that
// forgetting it never hands out a fresh burst: a key of one token an hour
// idle for the expiry keeps its empty bucket until the hour has passed.
func TestIdleKeysAreForgottenOnlyOnceFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 100 keys fit in one lock's shard, where every call sweeps.
		k := ratelimit.NewKeyed(rate.Every(time.Hour), 1, tenant,
			ratelimit.WithIdleExpiry(time.Minute), ratelimit.WithMaxKeys(100))
		require.NoError(t, k.Execute(as("a"), nop))
		time.Sleep(30 * time.Minute)
		require.NoError(t, k.Execute(as("b"), nop), "sweeps a, which is not full")
		_, ok := k.Tokens("a")
		assert.True(t, ok, "a idle 30 minutes is still owed half an hour")
		assert.ErrorIs(t, k.Execute(as("a"), nop), ratelimit.ErrLimited, "and gets no fresh burst")
		time.Sleep(61 * time.Minute)
		require.NoError(t, k.Execute(as("c"), nop))
		_, ok = k.Tokens("a")
		assert.False(t, ok, "a is full and idle: forgotten")
	})
}

func TestKeyedWaitsAndGivesBackACancelledWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := ratelimit.NewKeyed(10, 1, tenant, ratelimit.WithMaxWait(150*time.Millisecond))
		require.NoError(t, k.Execute(as("a"), nop))
		start := time.Now()
		require.NoError(t, k.Execute(as("a"), nop))
		assert.Equal(t, 100*time.Millisecond, time.Since(start), "waited for a's next token")
		require.NoError(t, k.Execute(as("b"), nop), "b's bucket is its own")

		ctx, cancel := context.WithCancel(as("a"))
		time.AfterFunc(50*time.Millisecond, cancel)
		assert.Equal(t, context.Canceled, k.Execute(ctx, nop))
		tokens, _ := k.Tokens("a")
		assert.InDelta(t, 0.5, tokens, 1e-9, "the cancelled wait gave its token back")

		dl, cancel := context.WithTimeout(as("a"), 10*time.Millisecond)
		defer cancel()
		err := k.Execute(dl, nop)
		assert.ErrorIs(t, err, ratelimit.ErrLimited, "the token comes after the deadline")
		d, _ := bulwark.RetryAfter(err)
		assert.Equal(t, 50*time.Millisecond, d)
	})
}

// Many goroutines on one key, on the real clock: the key's bucket keeps
// the bound, waits included.
func TestKeyedUnderRealContentionKeepsTheBound(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 24 goroutines for 300ms")
	}
	const limit, burst = 200, 5
	start := time.Now()
	k := ratelimit.NewKeyed(limit, burst, func(context.Context) string { return "hot" },
		ratelimit.WithMaxWait(40*time.Millisecond))
	ld := hammer(k, 24, start, 300*time.Millisecond, func(time.Duration) {})
	elapsed := time.Since(start)
	bound := limit*elapsed.Seconds() + burst
	t.Logf("admitted %d in %v, bound %.1f", ld.admitted.Load(), elapsed, bound)
	assert.LessOrEqual(t, float64(ld.admitted.Load()), bound)
	assert.Greater(t, ld.admitted.Load(), int64(burst))
}

// An unlimited keyed limiter needs no bucket per key: it remembers none.
func TestUnlimitedKeyedRemembersNoKeys(t *testing.T) {
	k := ratelimit.NewKeyed(rate.Inf, 0, tenant)
	for i := range 100 {
		require.NoError(t, k.Execute(as(strconv.Itoa(i)), nop))
	}
	assert.Zero(t, k.Len())
}
