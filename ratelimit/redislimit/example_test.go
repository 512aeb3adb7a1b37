package redislimit_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/ratelimit/redislimit"
	"github.com/redis/go-redis/v9"
)

// A limit shared by every instance of a service: 100 calls a second per
// tenant for the whole fleet, decided in Redis, and in each instance at a
// quarter of it (four instances) while Redis cannot be asked.
func Example() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer client.Close()
	type tenantKey struct{}
	lim := redislimit.New(client, 100, 20,
		redislimit.WithPrefix("orders:"),
		redislimit.WithKey(func(ctx context.Context) string { t, _ := ctx.Value(tenantKey{}).(string); return t }),
		redislimit.WithFailMode(redislimit.FailLocal),
		redislimit.WithLocalShare(0.25),
		redislimit.WithTimeout(20*time.Millisecond),
	)
	ctx := context.WithValue(context.Background(), tenantKey{}, "acme")
	err := lim.Execute(ctx, func(ctx context.Context) error { return nil })
	if errors.Is(err, ratelimit.ErrLimited) {
		d, _ := bulwark.RetryAfter(err)
		fmt.Println("come back in", d)
	}
}

// AllowN takes several tokens at once and tells what Redis knows.
func ExampleLimiter_AllowN() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer client.Close()
	lim := redislimit.New(client, 1000, 1000, redislimit.WithPrefix("bytes:"))
	r, err := lim.AllowN(context.Background(), "upload:42", 512)
	if err != nil {
		fmt.Println("rejected; retry after", r.RetryAfter)
		return
	}
	fmt.Println("allowed; remaining", r.Remaining, "full again in", r.ResetAfter)
}

// Leases take 100 tokens per round trip: about one Redis command per 100
// decisions, for an overshoot of at most 100 tokens per instance.
func ExampleWithLease() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer client.Close()
	lim := redislimit.New(client, 50000, 5000, redislimit.WithLease(100))
	_ = lim.Execute(context.Background(), func(ctx context.Context) error { return nil })
}
