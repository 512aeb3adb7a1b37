package redistest_test

import (
	"context"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/redistest"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestServerLifecycle(t *testing.T) {
	s := redistest.Start(t)
	c := s.Client(t, func(o *redis.Options) { o.ContextTimeoutEnabled = true; o.MaxRetries = -1 })
	ctx := context.Background()
	require.NoError(t, c.Set(ctx, "k", "v", 0).Err())
	assert.Positive(t, s.CommandStats(t)["set"])

	s.Pause()
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	start := time.Now()
	err := c.Get(short, "k").Err()
	cancel()
	require.Error(t, err, "a paused server answers nothing")
	assert.Less(t, time.Since(start), 2*time.Second)
	s.Resume()
	require.NoError(t, c.Ping(ctx).Err())

	s.Restart(t)
	_, err = c.Get(ctx, "k").Result()
	assert.ErrorIs(t, err, redis.Nil, "a restarted server is empty")
}

func TestParseCommandStats(t *testing.T) {
	got := redistest.ParseCommandStats("# Commandstats\r\ncmdstat_get:calls=3,usec=10,usec_per_call=3.33\r\ncmdstat_evalsha:calls=12,usec=1\r\n")
	assert.Equal(t, map[string]int64{"get": 3, "evalsha": 12}, got)
}
