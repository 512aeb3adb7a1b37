package bulkhead_test

import (
	"context"
	"reflect"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The sentinels have the shape of every bulwark sentinel: comparable
// values of unexported struct types, matched by errors.Is with ==.
func TestSentinelsAreComparableValues(t *testing.T) {
	for name, err := range map[string]error{"ErrFull": bulkhead.ErrFull, "ErrZeroValue": bulkhead.ErrZeroValue} {
		typ := reflect.TypeOf(err)
		assert.Equal(t, reflect.Struct, typ.Kind(), name)
		assert.True(t, typ.Comparable(), name)
	}
	assert.ErrorIs(t, bulkhead.ErrFull, bulwark.ErrRejected)
	assert.NotErrorIs(t, bulkhead.ErrZeroValue, bulwark.ErrRejected)
	assert.ErrorIs(t, (&bulkhead.Bulkhead{}).Execute(context.Background(), nop), bulkhead.ErrZeroValue)
}

// A rejection of a full bulkhead allocates nothing and carries no hint,
// a cached Bulkhead's included, which first collects the caches.
func TestRejectionsAllocateNothing(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	synctest.Test(t, func(t *testing.T) {
		for name, p := range map[string]bulwark.Policy{
			"Bulkhead":         bulkhead.New(1),
			"Bulkhead, cached": bulkhead.New(cachedLimit),
			"Adaptive":         bulkhead.NewAdaptive(bulkhead.Vegas(), bulkhead.WithLimits(1, 1)),
		} {
			release := make(chan struct{})
			var wg sync.WaitGroup
			holds := 1
			if name == "Bulkhead, cached" {
				holds = cachedLimit
			}
			for range holds {
				hold(t, p, release, &wg)
			}
			synctest.Wait()
			for _, q := range []bulwark.Policy{p, bulwark.New(p)} {
				var err error
				allocs := testing.AllocsPerRun(100, func() { err = q.Execute(context.Background(), nop) })
				require.ErrorIs(t, err, bulkhead.ErrFull, name)
				assert.Zero(t, allocs, name)
				_, ok := bulwark.RetryAfter(err)
				assert.False(t, ok, name)
			}
			close(release)
			wg.Wait()
		}
	})
}
