package coalesce

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
)

type testKey struct{}

// Memory is bounded by the calls in flight: a key is forgotten when its
// call returns, and once most keys of a burst are gone the map that held
// them is replaced, since a Go map never gives its buckets back. A map of
// fewer than 64 keys is kept, so that calls of one key at a time do not
// make a map each.
func TestMemoryIsBoundedByCallsInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New(func(ctx context.Context) string { s, _ := ctx.Value(testKey{}).(string); return s })
		const burst = 10_000
		release := make([]chan struct{}, burst)
		var wg sync.WaitGroup
		for i := range burst {
			release[i] = make(chan struct{})
			ctx := context.WithValue(context.Background(), testKey{}, strconv.Itoa(i))
			wg.Go(func() { _ = c.Execute(ctx, func(context.Context) error { <-release[i]; return nil }) })
		}
		synctest.Wait()
		state := func() (int, int) {
			c.mu.Lock()
			defer c.mu.Unlock()
			return len(c.calls), c.peak
		}
		n, peak := state()
		assert.Equal(t, burst, n)
		assert.Equal(t, burst, peak)
		for i := range burst - 10 {
			close(release[i])
		}
		synctest.Wait()
		n, peak = state()
		assert.Equal(t, 10, n)
		assert.LessOrEqual(t, peak, burst/4, "the map was replaced by a smaller one")
		for i := burst - 10; i < burst; i++ {
			close(release[i])
		}
		wg.Wait()
		n, peak = state()
		assert.Zero(t, n)
		assert.Less(t, peak, 64, "what is held is a small map")
		assert.Equal(t, Snapshot{Calls: burst}, c.Snapshot())
	})
}
