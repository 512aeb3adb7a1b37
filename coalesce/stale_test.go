package coalesce_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark/coalesce"
	"github.com/stretchr/testify/assert"
)

// entry is a value in the user's cache, with the time it stops being fresh.
type entry struct {
	v       string
	expires time.Time
}

// cache is the user's store: coalesce reads it through the lookup, the
// protected call writes it.
type cache struct {
	mu sync.Mutex
	m  map[string]entry
}

func (c *cache) lookup(_ context.Context, key string) (string, time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	return e.v, e.expires, ok
}

func (c *cache) store(key, v string, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[key] = entry{v, time.Now().Add(ttl)}
}

// While the leader refreshes a value that expired less than the window
// ago, the others get the stale value at once; the leader waits for the
// fresh one, and later callers get it.
func TestStaleWhileRevalidate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &cache{m: map[string]entry{}}
		store.store("k", "old", time.Minute)
		c := coalesce.New(byKey, coalesce.WithStaleWhileRevalidate(30*time.Second, store.lookup))
		ctx := withKey(context.Background(), "k")
		refresh := func(ctx context.Context) (string, error) {
			time.Sleep(5 * time.Second) // the slow rebuild
			store.store("k", "new", time.Minute)
			return "new", nil
		}
		time.Sleep(time.Minute + 10*time.Second) // expired 10s ago: within the window
		leader := make(chan string)
		go func() {
			v, err := coalesce.Get(ctx, c, refresh)
			assert.NoError(t, err)
			leader <- v
		}()
		synctest.Wait()
		start := time.Now()
		v, err := coalesce.Get(ctx, c, refresh)
		assert.NoError(t, err)
		assert.Equal(t, "old", v, "served stale")
		assert.Zero(t, time.Since(start), "at once")
		assert.NoError(t, c.Execute(ctx, func(context.Context) error { t.Error("ran"); return nil }),
			"Execute returns nil; the caller reads its cache")
		assert.Equal(t, "new", <-leader, "the leader waits for the refresh")
		assert.Equal(t, coalesce.Snapshot{Calls: 1, Stale: 2}, c.Snapshot())

		// Expired longer ago than the window: the waiter waits.
		time.Sleep(2 * time.Minute)
		go func() { v, _ := coalesce.Get(ctx, c, refresh); leader <- v }()
		synctest.Wait()
		start = time.Now()
		v, err = coalesce.Get(ctx, c, refresh)
		assert.NoError(t, err)
		assert.Equal(t, "new", v)
		assert.Equal(t, 5*time.Second, time.Since(start), "waited for the refresh")
		<-leader
		assert.Equal(t, int64(2), c.Snapshot().Stale)
		assert.Equal(t, int64(1), c.Snapshot().Shared)
	})
}

// A stale value of another type than the caller's Get is not served: the
// caller waits. No value in the store: the caller waits.
func TestStaleValueOfAnotherTypeOrNoneIsNotServed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := coalesce.New(byKey, coalesce.WithStaleWhileRevalidate(time.Hour,
			func(_ context.Context, key string) (int, time.Time, bool) { return 1, time.Now(), key == "int" }))
		for _, k := range []string{"int", "none"} {
			ctx := withKey(context.Background(), k)
			g := newGate()
			leader := make(chan string)
			go func() {
				v, _ := coalesce.Get(ctx, c, func(ctx context.Context) (string, error) { return "fresh", g.wait(ctx) })
				leader <- v
			}()
			synctest.Wait()
			waiter := make(chan string)
			go func() {
				v, _ := coalesce.Get(ctx, c, func(context.Context) (string, error) { return "", nil })
				waiter <- v
			}()
			synctest.Wait()
			close(g.release)
			assert.Equal(t, "fresh", <-waiter, k)
			assert.Equal(t, "fresh", <-leader)
		}
		assert.Zero(t, c.Snapshot().Stale)
	})
}
