package redislimit_test

import (
	"context"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/ratelimit/redislimit"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// hangUp is a server that accepts connections and closes them at once, as
// a Redis that is going down does; it counts the connections.
type hangUp struct {
	lis      net.Listener
	accepted atomic.Int32
	done     sync.WaitGroup
}

func newHangUp(t *testing.T) *hangUp {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	h := &hangUp{lis: lis}
	h.done.Go(func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			h.accepted.Add(1)
			_ = c.Close()
		}
	})
	t.Cleanup(func() {
		_ = lis.Close()
		h.done.Wait()
	})
	return h
}

// The recheck interval of an unreachable Redis is twice the timeout, and
// saturates: with the longest timeout, the calls after the first failure
// decide locally instead of asking a failing server each time.
func TestRecheckOfTheLongestTimeoutSaturates(t *testing.T) {
	srv := newHangUp(t)
	client := redis.NewClient(&redis.Options{Addr: srv.lis.Addr().String(), MaxRetries: -1})
	defer client.Close()
	l := redislimit.New(client, 10, 5, redislimit.WithTimeout(math.MaxInt64))
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	require.NoError(t, l.Execute(ctx, nop), "the local bucket decides while Redis fails")
	first := srv.accepted.Load()
	require.NotZero(t, first, "the first call asked Redis")
	for range 3 {
		require.NoError(t, l.Execute(ctx, nop))
	}
	require.Equal(t, first, srv.accepted.Load(), "no call asked Redis again before the recheck")
}
