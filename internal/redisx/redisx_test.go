package redisx_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark/internal/redistest"
	"github.com/bulwark-go/bulwark/internal/redisx"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestHealthAsksOncePerRecheckWhileDegraded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var h redisx.Health
		assert.False(t, h.Degraded())
		assert.True(t, h.Ask(time.Second), "healthy: every call asks")
		assert.True(t, h.Ask(time.Second))
		assert.True(t, h.Failed(time.Second), "healthy to degraded")
		assert.False(t, h.Failed(time.Second), "already degraded")
		assert.True(t, h.Degraded())
		assert.False(t, h.Ask(time.Second), "within the recheck interval nobody asks")
		time.Sleep(time.Second)
		assert.True(t, h.Ask(time.Second), "the first call after the interval asks")
		assert.False(t, h.Ask(time.Second), "and no other")
		assert.True(t, h.Succeeded(), "degraded to healthy")
		assert.False(t, h.Succeeded())
		assert.False(t, h.Degraded())
		assert.True(t, h.Ask(time.Second))
	})
}

func TestHealthSaturatesAHugeRecheck(t *testing.T) {
	var h redisx.Health
	h.Failed(math.MaxInt64)
	assert.False(t, h.Ask(math.MaxInt64), "now + MaxInt64 saturates instead of wrapping into the past")
}

func TestEscapeKey(t *testing.T) {
	long := strings.Repeat("a", 129)
	for _, tc := range []struct{ key, want string }{
		{"", ""},
		{"tenant-42:eu_west.1", "tenant-42:eu_west.1"},
		{"a}{b c", "a%7D%7Bb%20c"},
		{"\r\n*\x00\xff", "%0D%0A%2A%00%FF"},
		{strings.Repeat("a", 128), strings.Repeat("a", 128)},
		{long, "#" + sha(long)},
		{strings.Repeat("{", 43), "#" + sha(strings.Repeat("{", 43))}, // 129 bytes escaped
		{strings.Repeat("{", 42) + "ab", strings.Repeat("%7B", 42) + "ab"},
	} {
		assert.Equal(t, tc.want, redisx.EscapeKey(tc.key), "%q", tc.key)
	}
}

func TestIsNil(t *testing.T) {
	var nilClient *redis.Client
	var nilRing *redis.Ring
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	assert.True(t, redisx.IsNil(nil))
	assert.True(t, redisx.IsNil(nilClient))
	assert.True(t, redisx.IsNil(nilRing))
	assert.False(t, redisx.IsNil(c))
}

func TestCountsAgainstRedis(t *testing.T) {
	err := errors.New("i/o timeout")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Unix(1, 0))
	defer cancel2()
	assert.True(t, redisx.CountsAgainstRedis(context.Background(), err))
	assert.True(t, redisx.CountsAgainstRedis(expired, err), "Redis did not answer within the caller's deadline")
	assert.False(t, redisx.CountsAgainstRedis(canceled, err), "the caller gave up")
	assert.False(t, redisx.CountsAgainstRedis(context.Background(), nil))
	assert.True(t, redisx.CallerGone(expired, err))
	assert.False(t, redisx.CallerGone(context.Background(), err))
}

func TestIsScriptError(t *testing.T) {
	s := redistest.Start(t)
	c := s.Client(t)
	ctx := context.Background()
	require.NoError(t, c.Set(ctx, "str", "x", 0).Err())
	wrongType := c.Eval(ctx, `return redis.call("HGET", KEYS[1], "f")`, []string{"str"}).Err()
	notInt := c.Eval(ctx, `return redis.call("INCR", KEYS[1])`, []string{"str"}).Err()
	raised := c.Eval(ctx, `error("boom")`, nil).Err()
	require.NoError(t, c.Do(ctx, "ACL", "SETUSER", "limited", "on", ">pw", "~mine:*", "+@all").Err())
	lc := s.Client(t, func(o *redis.Options) { o.Username, o.Password = "limited", "pw" })
	noPerm := lc.Eval(ctx, `return redis.call("GET", KEYS[1])`, []string{"theirs"}).Err()
	for _, err := range []error{wrongType, notInt, raised, noPerm} {
		require.Error(t, err)
		assert.True(t, redisx.IsScriptError(err), "%v", err)
	}
	s.Kill()
	_, refused := net.Dial("tcp", s.Addr)
	short, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	<-short.Done()
	for _, err := range []error{refused, short.Err(), redis.Nil, nil} {
		assert.False(t, redisx.IsScriptError(err), "%v", err)
	}
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
