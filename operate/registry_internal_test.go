package operate

import (
	"context"
	"runtime"
	"testing"
	"testing/synctest"
	"time"
	"weak"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A policy outlives the registry that watched it: once the registry is
// collected the policy holds none of its rings, and reports to nothing.
func TestADroppedRegistryLetsGoOfItsPolicies(t *testing.T) {
	b := breaker.New()
	r := NewRegistry()
	require.NoError(t, r.Register("payments", b))
	ring := weak.Make(r.policies[0].events)
	r = nil
	testutil.Settle()
	assert.Nil(t, ring.Value(), "the breaker still holds the ring of a dropped registry")
	runtime.KeepAlive(b)
	_ = r
}

// A pipeline's calls are timed while the registry is read, and the timing
// detaches itself from them once nobody has read for watchFor.
func TestLatencyDetachesWhenNobodyWatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		p := bulwark.New(retry.New()).With(bulwark.WithCallDuration())
		r := NewRegistry()
		require.NoError(t, r.Register("checkout", p))
		l := r.pipelines[0].latency
		require.NotNil(t, l)
		attached := func() bool {
			l.mu.Lock()
			defer l.mu.Unlock()
			return l.untap != nil
		}
		require.NoError(t, p.Execute(ctx, testutil.Nop))
		assert.False(t, attached(), "registered, not read: the calls are not timed")

		r.snapshot(time.Now(), false)
		assert.True(t, attached(), "a read attaches it")
		time.Sleep(watchFor)
		require.NoError(t, p.Execute(ctx, testutil.Nop))
		assert.True(t, attached(), "a call that starts at the end of the watch is timed")
		time.Sleep(time.Millisecond)
		require.NoError(t, p.Execute(ctx, testutil.Nop))
		assert.False(t, attached(), "the first call after it detaches it")
		_, calls := l.load()
		assert.Equal(t, int64(1), calls)

		r.snapshot(time.Now(), false)
		assert.True(t, attached(), "and the next read attaches it again")
		l.stop()
		assert.False(t, attached())
	})
}
