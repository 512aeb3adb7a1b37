package coalesce_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark/coalesce"
)

type userKey struct{}

func Example() {
	users := coalesce.New(func(ctx context.Context) string {
		id, _ := ctx.Value(userKey{}).(string)
		return id
	})
	var loads atomic.Int64
	load := func(ctx context.Context) (string, error) {
		loads.Add(1)
		for users.Status().Queued < 99 { // a slow database: the 99 others arrive meanwhile
			runtime.Gosched()
		}
		return "Ada Lovelace", nil
	}
	ctx := context.WithValue(context.Background(), userKey{}, "42")
	var wg sync.WaitGroup
	names := make([]string, 100)
	for i := range names {
		wg.Go(func() { names[i], _ = coalesce.Get(ctx, users, load) })
	}
	wg.Wait()
	fmt.Println(names[0], names[99], loads.Load(), "load")
	// Output: Ada Lovelace Ada Lovelace 1 load
}

// Under Execute the call's effect is shared: the leader fills the cache,
// every caller reads it.
func ExampleCoalesce_Execute() {
	var cache sync.Map
	c := coalesce.New(func(ctx context.Context) string { return "prices" })
	err := c.Execute(context.Background(), func(ctx context.Context) error {
		cache.Store("prices", []float64{12.5, 13})
		return nil
	})
	prices, _ := cache.Load("prices")
	fmt.Println(err, prices)
	// Output: <nil> [12.5 13]
}

func ExampleWithStaleWhileRevalidate() {
	type entry struct {
		value   string
		expires time.Time
	}
	var mu sync.Mutex
	cache := map[string]entry{"home": {"<html>old</html>", time.Now().Add(-time.Second)}}
	lookup := func(_ context.Context, key string) (string, time.Time, bool) {
		mu.Lock()
		defer mu.Unlock()
		e, ok := cache[key]
		return e.value, e.expires, ok
	}
	pages := coalesce.New(func(ctx context.Context) string { return "home" },
		coalesce.WithStaleWhileRevalidate(time.Minute, lookup))

	refreshing := make(chan struct{})
	done := make(chan struct{})
	render := func(ctx context.Context) (string, error) {
		close(refreshing)
		<-done // a slow render
		mu.Lock()
		defer mu.Unlock()
		cache["home"] = entry{"<html>new</html>", time.Now().Add(time.Minute)}
		return cache["home"].value, nil
	}
	leader := make(chan string)
	go func() { v, _ := coalesce.Get(context.Background(), pages, render); leader <- v }()
	<-refreshing
	stale, _ := coalesce.Get(context.Background(), pages, render) // does not wait
	close(done)
	fmt.Println(stale, <-leader)
	// Output: <html>old</html> <html>new</html>
}
