package redislimit_test

import (
	"context"
	"errors"
	"math"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/ratelimit/redislimit"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
)

// unreachable is a client of a port nothing listens on: every command
// fails at once, and the limiter decides by its fail mode.
func unreachable(t *testing.T) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestFailLocalIsAllOrNone: the local bucket decides n tokens as Redis
// does, all or none, and more than the burst never.
func TestFailLocalIsAllOrNone(t *testing.T) {
	l := redislimit.New(unreachable(t), hourly, 10)
	ctx := context.Background()
	r, err := l.AllowN(ctx, "k", 11)
	require.ErrorIs(t, err, ratelimit.ErrLimited)
	assert.True(t, r.Degraded)
	assert.Equal(t, time.Duration(-1), r.RetryAfter, "more than the burst never comes")
	_, ok := bulwark.RetryAfter(err)
	assert.False(t, ok)
	r, err = l.AllowN(ctx, "k", 10)
	require.NoError(t, err, "the refused call took nothing")
	assert.True(t, r.Allowed && r.Degraded)
	r, err = l.AllowN(ctx, "k", 1)
	require.ErrorIs(t, err, ratelimit.ErrLimited)
	assert.InDelta(t, time.Hour.Seconds(), r.RetryAfter.Seconds(), 1)
}

// TestFailLocalReportsOnceAsTheLimiter: a local rejection is one event on
// the call's span, the limiter's own.
func TestFailLocalReportsOnceAsTheLimiter(t *testing.T) {
	sr, tp := otest.Tracing()
	l := redislimit.New(unreachable(t), hourly, 1)
	ctx, span := tp.Tracer("test").Start(context.Background(), "call")
	require.NoError(t, l.Execute(ctx, nop))
	require.ErrorIs(t, l.Execute(ctx, nop), ratelimit.ErrLimited)
	span.End()
	var names []string
	for _, e := range sr.Ended()[0].Events() {
		names = append(names, e.Name)
	}
	assert.Equal(t, []string{"bulwark.redislimit.degraded", "bulwark.redislimit.rejected"}, names)
}

// TestFailLocalExportsNoSeriesOfItsOwn: through the global provider, once
// an SDK is installed, the only bulwark.calls series of a FailLocal
// limiter is its own. The test runs in a process of its own, since it
// installs the global provider.
func TestFailLocalExportsNoSeriesOfItsOwn(t *testing.T) {
	if !testutil.InChild(t) {
		testutil.RunInChild(t)
		return
	}
	m := otest.NewMeter()
	otel.SetMeterProvider(m)
	l := redislimit.New(unreachable(t), hourly, 1, redislimit.WithName("api"))
	_ = l.Execute(context.Background(), nop)
	_ = l.Execute(context.Background(), nop)
	assert.Equal(t, map[string]int64{"rejected": 1}, testutil.Calls(t, m, "redislimit", "api"))
}

// TestAHugeTimeoutSaturates: the recheck interval of two timeouts
// saturates, so that a degraded limiter with WithTimeout(MaxInt64) asks
// Redis once, not on every call.
func TestAHugeTimeoutSaturates(t *testing.T) {
	var dials atomic.Int64
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1,
		Dialer: func(context.Context, string, string) (net.Conn, error) {
			dials.Add(1)
			return nil, errors.New("refused")
		}})
	t.Cleanup(func() { _ = c.Close() })
	l := redislimit.New(c, hourly, 1000, redislimit.WithTimeout(math.MaxInt64), redislimit.WithFailMode(redislimit.FailOpen))
	require.NoError(t, l.Execute(context.Background(), nop))
	require.True(t, l.Degraded())
	first := dials.Load() // go-redis may dial more than once for one command
	for range 100 {
		require.NoError(t, l.Execute(context.Background(), nop))
	}
	assert.Equal(t, first, dials.Load(), "the fail mode decides until the recheck, which never comes")
}
