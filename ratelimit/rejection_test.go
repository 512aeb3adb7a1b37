package ratelimit_test

import (
	"context"
	"reflect"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"
)

// A rejection allocates nothing, with a hint or without one, however the
// limiter rejected: its error is a value that needs no allocation, and the
// hint is read from the limiter when asked.
func TestRejectionsAllocateNothing(t *testing.T) {
	ctx := as("a")
	for name, p := range map[string]bulwark.Policy{
		"bucket":                ratelimit.New(1e-3, 1),
		"bucket, wait too long": ratelimit.New(1e-3, 1, ratelimit.WithMaxWait(time.Second)),
		"bucket, no token ever": ratelimit.New(0, 1),
		"bucket, a tiny rate":   ratelimit.New(1e-12, 1),
		"keyed":                 ratelimit.NewKeyed(1e-3, 1, tenant),
		"keyed, wait too long":  ratelimit.NewKeyed(1e-3, 1, tenant, ratelimit.WithMaxWait(time.Second)),
		"sliding window":        ratelimit.NewSlidingWindow(1, time.Hour),
		"bucket in a pipeline":  bulwark.New(ratelimit.New(1e-3, 1)),
		"keyed in a pipeline":   bulwark.New(ratelimit.NewKeyed(1e-3, 1, tenant)),
		"sliding in a pipeline": bulwark.New(ratelimit.NewSlidingWindow(1, time.Hour)),
	} {
		require.NoError(t, p.Execute(ctx, nop), name)
		var err error
		allocs := testing.AllocsPerRun(1000, func() { err = p.Execute(ctx, nop) })
		require.ErrorIs(t, err, ratelimit.ErrLimited, name)
		assert.Zero(t, allocs, name)
	}
}

// The hint is read when asked: right after the rejection it is the wait
// the rejection saw, and later it is the time left from then, so that a
// caller who sleeps it whenever it asks is admitted.
func TestHintIsTheTimeLeftWhenAsked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		key := func(context.Context) string { return "k" }
		for name, c := range map[string]struct {
			p    bulwark.Policy
			hint time.Duration
		}{
			"bucket": {ratelimit.New(1, 1), time.Second},
			"keyed":  {ratelimit.NewKeyed(1, 1, key), time.Second},
			// The rest of this window, then all of the next, while the
			// previous window's call weighs.
			"window": {ratelimit.NewSlidingWindow(1, time.Second), 2 * time.Second},
		} {
			p := c.p
			require.NoError(t, p.Execute(context.Background(), nop))
			err := p.Execute(context.Background(), nop)
			d, ok := bulwark.RetryAfter(err)
			require.True(t, ok, name)
			assert.Equal(t, c.hint, d, name)
			time.Sleep(300 * time.Millisecond)
			d, _ = bulwark.RetryAfter(err)
			assert.Equal(t, c.hint-300*time.Millisecond, d, name)
			assert.Equal(t, "bulwark/ratelimit: rate limited, retry in "+d.String(), err.Error(), name)
			time.Sleep(d)
			d, _ = bulwark.RetryAfter(err)
			assert.Zero(t, d, "%s: the token is there", name)
			assert.NoError(t, p.Execute(context.Background(), nop), name)
		}
	})
}

// A keyed rejection's hint follows its key: once the key is forgotten, its
// next call would find a full bucket, and the hint says so.
func TestKeyedHintOfAForgottenKey(t *testing.T) {
	k := ratelimit.NewKeyed(rate.Every(time.Hour), 1, tenant, ratelimit.WithMaxKeys(1))
	require.NoError(t, k.Execute(as("a"), nop))
	err := k.Execute(as("a"), nop)
	d, ok := bulwark.RetryAfter(err)
	require.True(t, ok)
	assert.Greater(t, d, 59*time.Minute)
	require.NoError(t, k.Execute(as("b"), nop), "b takes a's place")
	d, ok = bulwark.RetryAfter(err)
	assert.True(t, ok)
	assert.Zero(t, d, "a is forgotten: its next call has a full bucket")
}

// The sentinels have the shape of every bulwark sentinel: comparable
// values of unexported struct types, matched by errors.Is with ==.
func TestSentinelsAreComparableValues(t *testing.T) {
	for name, err := range map[string]error{"ErrLimited": ratelimit.ErrLimited, "ErrZeroValue": ratelimit.ErrZeroValue} {
		typ := reflect.TypeOf(err)
		assert.Equal(t, reflect.Struct, typ.Kind(), name)
		assert.True(t, typ.Comparable(), name)
	}
	assert.ErrorIs(t, ratelimit.ErrLimited, bulwark.ErrRejected)
	assert.NotErrorIs(t, ratelimit.ErrZeroValue, bulwark.ErrRejected)
	_, ok := bulwark.RetryAfter(ratelimit.ErrLimited)
	assert.False(t, ok, "ErrLimited itself carries no hint")
}
