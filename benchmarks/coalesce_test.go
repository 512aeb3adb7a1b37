package benchmarks

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/bulwark-go/bulwark/coalesce"
	"github.com/stretchr/testify/assert"
	"golang.org/x/sync/singleflight"
)

// user is the value the coalesced calls load: a struct returned by value,
// as a cache entry usually is.
type user struct {
	ID   int
	Name string
}

// coalescer is one way of sharing the loads of one key among concurrent
// callers, each of which receives the value. It is built once around the
// load, as a service builds it once around its loader, so that no harness
// makes a closure per call that another does not.
type coalescer func(ctx context.Context) (user, error)

type coalesceKey struct{}

func coalesceKeyOf(ctx context.Context) string {
	k, _ := ctx.Value(coalesceKey{}).(string)
	return k
}

// bulwarkCoalesceGet shares the value through coalesce.Get.
func bulwarkCoalesceGet(load func(context.Context) (user, error)) coalescer {
	c := coalesce.New(coalesceKeyOf)
	return func(ctx context.Context) (user, error) { return coalesce.Get(ctx, c, load) }
}

// bulwarkCoalesceExecute shares the load's effect: the leader's load
// stores the value in the cache every caller then reads, the way a cache
// stampede is usually guarded.
func bulwarkCoalesceExecute(load func(context.Context) (user, error)) coalescer {
	c := coalesce.New(coalesceKeyOf)
	var cache atomic.Pointer[user]
	fill := func(ctx context.Context) error {
		u, err := load(ctx)
		if err == nil {
			cache.Store(&u)
		}
		return err
	}
	return func(ctx context.Context) (user, error) {
		if err := c.Execute(ctx, fill); err != nil {
			return user{}, err
		}
		return *cache.Load(), nil
	}
}

// singleflightDo is golang.org/x/sync/singleflight: the value travels as
// an any, boxed by the leader, asserted by every caller. Its function
// takes no context, so it is a closure around the caller's.
func singleflightDo(load func(context.Context) (user, error)) coalescer {
	var g singleflight.Group
	return func(ctx context.Context) (user, error) {
		v, err, _ := g.Do(coalesceKeyOf(ctx), func() (any, error) { return load(ctx) })
		if err != nil {
			return user{}, err
		}
		return v.(user), nil
	}
}

// directLoad shares nothing: the floor of the leader path.
func directLoad(load func(context.Context) (user, error)) coalescer { return coalescer(load) }

var coalescers = []struct {
	name string
	make func(load func(context.Context) (user, error)) coalescer
}{
	{"direct", directLoad},
	{"bulwark-get", bulwarkCoalesceGet},
	{"bulwark-execute", bulwarkCoalesceExecute},
	{"x-sync-singleflight", singleflightDo},
}

func loadUser(context.Context) (user, error) { return user{ID: 42, Name: "Ada"}, nil }

// BenchmarkCoalesceLeader: calls that find no call in flight for their
// key, one after the other: each leads, runs the load, and forgets the key.
func BenchmarkCoalesceLeader(b *testing.B) {
	ctx := context.WithValue(context.Background(), coalesceKey{}, "user:42")
	for _, p := range coalescers {
		b.Run(p.name, func(b *testing.B) {
			do := p.make(loadUser)
			b.ReportAllocs()
			for b.Loop() {
				if u, err := do(ctx); err != nil || u.ID != 42 {
					b.Fatal(u, err)
				}
			}
		})
	}
}

// slowLoad yields the processor a few times, so that the callers of a
// parallel benchmark arrive while it runs and wait for it.
func slowLoad(runs *atomic.Int64) func(context.Context) (user, error) {
	return func(context.Context) (user, error) {
		runs.Add(1)
		for range 20 {
			runtime.Gosched()
		}
		return user{ID: 42, Name: "Ada"}, nil
	}
}

// BenchmarkCoalesceShared: 32 goroutines (16 per processor) call the same
// key; most calls wait for another's load. runs/op is the share of calls
// that ran the load: the rest took the waiter path.
func BenchmarkCoalesceShared(b *testing.B) {
	for _, p := range coalescers[1:] {
		b.Run(p.name, func(b *testing.B) {
			var runs atomic.Int64
			do := p.make(slowLoad(&runs))
			b.SetParallelism(16)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.WithValue(context.Background(), coalesceKey{}, "user:42")
				for pb.Next() {
					if u, err := do(ctx); err != nil || u.ID != 42 {
						b.Error(u, err)
						return
					}
				}
			})
			b.ReportMetric(float64(runs.Load())/float64(b.N), "runs/op")
		})
	}
}

// Every harness but direct shares: 100 concurrent calls of one key while
// the load is held run it once, and all receive its value.
func TestCoalesceHarnessesShare(t *testing.T) {
	for _, p := range coalescers[1:] {
		ctx := context.WithValue(context.Background(), coalesceKey{}, "user:42")
		var runs atomic.Int64
		var arrived sync.WaitGroup
		arrived.Add(100)
		release := make(chan struct{})
		load := func(context.Context) (user, error) {
			runs.Add(1)
			<-release
			return user{ID: 42, Name: "Ada"}, nil
		}
		do := p.make(load)
		var wg sync.WaitGroup
		got := make([]user, 100)
		for i := range got {
			wg.Go(func() {
				arrived.Done()
				got[i], _ = do(ctx)
			})
		}
		arrived.Wait()
		for runs.Load() == 0 {
			runtime.Gosched()
		}
		// The others are on their way into the call in flight; the
		// benchmark does not need all of them to be in it, only that some
		// were, which the count of loads below shows.
		for range 1000 {
			runtime.Gosched()
		}
		close(release)
		wg.Wait()
		assert.Less(t, runs.Load(), int64(100), p.name)
		for _, u := range got {
			assert.Equal(t, user{ID: 42, Name: "Ada"}, u, p.name)
		}
	}
}
