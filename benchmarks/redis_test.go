package benchmarks

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/bulwark-go/bulwark/internal/redistest"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/ratelimit/redislimit"
	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"
)

// The Redis-backed rate limiters, side by side on one client of one
// redis-server started for the run: bulwark's redislimit, go-redis's
// redis_rate v10 (the same algorithm, GCRA in a Lua script), and two
// references measured on the same client, a PING and an EVALSHA of a
// script that returns 1: the round trip no decision can beat.

// A limit no benchmark reaches, so that every decision admits.
const redisLimit, redisBurst = 1e6, 1e6

var trivial = redis.NewScript("return 1")

// redisPeers returns the decision of each peer and reference, on client.
func redisPeers(b *testing.B, client *redis.Client) []struct {
	name string
	run  func(ctx context.Context) error
} {
	ctx := context.Background()
	lim := redislimit.New(client, redisLimit, redisBurst, redislimit.WithPrefix("bench:bulwark:"))
	leased := redislimit.New(client, redisLimit, redisBurst, redislimit.WithPrefix("bench:leased:"), redislimit.WithLease(100))
	rr := redis_rate.NewLimiter(client)
	rrLimit := redis_rate.Limit{Rate: redisLimit, Burst: redisBurst, Period: 1e9}
	if err := trivial.Load(ctx, client).Err(); err != nil {
		b.Fatal(err)
	}
	return []struct {
		name string
		run  func(ctx context.Context) error
	}{
		{"PING", func(ctx context.Context) error { return client.Ping(ctx).Err() }},
		{"EVALSHA-return-1", func(ctx context.Context) error { return trivial.EvalSha(ctx, client, nil).Err() }},
		{"redis_rate", func(ctx context.Context) error {
			r, err := rr.Allow(ctx, "bench", rrLimit)
			if err == nil && r.Allowed == 0 {
				b.Fatal("redis_rate rejected")
			}
			return err
		}},
		{"bulwark", func(ctx context.Context) error { return lim.Execute(ctx, nop) }},
		// Faster than the limit: once the burst is spent, some decisions
		// are rejections, which are decisions too.
		{"bulwark-lease-100", func(ctx context.Context) error {
			if err := leased.Execute(ctx, nop); !errors.Is(err, ratelimit.ErrLimited) {
				return err
			}
			return nil
		}},
	}
}

func BenchmarkRedisRateLimit(b *testing.B) {
	s := redistest.Start(b)
	client := s.Client(b)
	for _, p := range redisPeers(b, client) {
		b.Run(p.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := p.run(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRedisRateLimitParallel(b *testing.B) {
	s := redistest.Start(b)
	client := s.Client(b)
	for _, p := range redisPeers(b, client) {
		b.Run(p.name, func(b *testing.B) {
			var failed atomic.Value
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					if err := p.run(ctx); err != nil {
						failed.Store(err.Error())
						return
					}
				}
			})
			if f := failed.Load(); f != nil {
				b.Fatal(f)
			}
		})
	}
}

// TestRedisHarnessesDecide checks that every harness asks Redis: each
// limiter rejects once its bucket of 3 is spent.
func TestRedisHarnessesDecide(t *testing.T) {
	s := redistest.Start(t)
	client := s.Client(t)
	ctx := context.Background()
	lim := redislimit.New(client, rate.Every(1e12), 3, redislimit.WithPrefix("t:"))
	rr := redis_rate.NewLimiter(client)
	l := redis_rate.Limit{Rate: 1, Burst: 3, Period: 1e12}
	for i := range 4 {
		err := lim.Execute(ctx, nop)
		r, rerr := rr.Allow(ctx, "t", l)
		if rerr != nil {
			t.Fatal(rerr)
		}
		if want := i < 3; (err == nil) != want || (r.Allowed == 1) != want {
			t.Fatalf("call %d: bulwark %v, redis_rate allowed %d; want allowed=%v", i, err, r.Allowed, want)
		}
	}
}
