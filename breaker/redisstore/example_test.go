package redisstore_test

import (
	"context"
	"time"

	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/breaker/redisstore"
	"github.com/redis/go-redis/v9"
)

// Breakers named "inventory" in every instance open together: when one
// opens, the others follow within the sync interval, and the fleet sends
// one half-open probe, not one per instance.
func Example() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer client.Close()
	st := redisstore.New(client, redisstore.WithSyncInterval(500*time.Millisecond))
	defer st.Close()
	b := breaker.New(
		breaker.WithName("inventory"),
		breaker.WithStore(st),
		breaker.WithOpenDuration(30*time.Second),
	)
	_ = b.Execute(context.Background(), func(ctx context.Context) error { return nil })
}
