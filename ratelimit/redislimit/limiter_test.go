package redislimit_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/internal/redistest"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/ratelimit/redislimit"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"
)

// hourly refills one token an hour: within a test the bucket holds its
// burst and nothing comes back.
var hourly = rate.Every(time.Hour)

// steady is a timeout no round trip of a loaded machine reaches, for the
// tests of what Redis decides: a timeout there would hand the decision to
// the fail mode.
var steady = redislimit.WithTimeout(5 * time.Second)

func TestBadInputPanicsWithAClearMessage(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	var nilClient *redis.Client
	for _, tc := range []struct {
		msg string
		f   func()
	}{
		{"bulwark/redislimit: New: client must not be nil", func() { redislimit.New(nil, 1, 1) }},
		{"bulwark/redislimit: New: client must not be nil", func() { redislimit.New(nilClient, 1, 1) }},
		{"bulwark/redislimit: New: limit must be > 0 (or rate.Inf), got 0", func() { redislimit.New(c, 0, 1) }},
		{"bulwark/redislimit: New: limit must be > 0 (or rate.Inf), got -1", func() { redislimit.New(c, -1, 1) }},
		{"bulwark/redislimit: New: limit must be > 0 (or rate.Inf), got NaN", func() { redislimit.New(c, rate.Limit(math.NaN()), 1) }},
		{"bulwark/redislimit: New: limit must be at most 1e6 a second (or rate.Inf), got 2e+06", func() { redislimit.New(c, 2e6, 1) }},
		{"bulwark/redislimit: New: burst must be at least 1 with a finite limit, got 0", func() { redislimit.New(c, 1, 0) }},
		{"bulwark/redislimit: New: burst must be at least 1 with a finite limit, got -3", func() { redislimit.New(c, 1, -3) }},
		{"bulwark/redislimit: WithLease: lease must be at least 1, got 0", func() { redislimit.WithLease(0) }},
		{"bulwark/redislimit: WithPrefix: prefix must not be empty", func() { redislimit.WithPrefix("") }},
		{"bulwark/redislimit: WithKey: key function must not be nil", func() { redislimit.WithKey(nil) }},
		{"bulwark/redislimit: WithTimeout: timeout must be > 0, got 0s", func() { redislimit.WithTimeout(0) }},
		{"bulwark/redislimit: WithLocalShare: share must be in (0, 1], got 1.5", func() { redislimit.WithLocalShare(1.5) }},
		{"bulwark/redislimit: WithFailMode: mode must be FailLocal, FailOpen or FailClosed, got 0", func() { redislimit.WithFailMode(0) }},
		{"bulwark/redislimit: WithName: name must not be empty", func() { redislimit.WithName("") }},
	} {
		assert.PanicsWithValue(t, tc.msg, tc.f)
	}
	assert.PanicsWithValue(t, "bulwark/redislimit: New: burst 9223372036854775807 takes 2.92e+20 years to refill at 1e-09 a second, beyond 2^51µs (71 years)",
		func() { redislimit.New(c, 1e-9, math.MaxInt) })
	assert.PanicsWithValue(t, "bulwark/redislimit: New: burst 3000000000 takes 95.1 years to refill at 1 a second, beyond 2^51µs (71 years)",
		func() { redislimit.New(c, 1, 3e9) })
}

func TestZeroValue(t *testing.T) {
	var l redislimit.Limiter
	err := l.Execute(context.Background(), nop)
	assert.ErrorIs(t, err, ratelimit.ErrZeroValue)
	assert.NotErrorIs(t, err, bulwark.ErrRejected)
	_, err = l.AllowN(context.Background(), "k", 1)
	assert.ErrorIs(t, err, ratelimit.ErrZeroValue)
	assert.Equal(t, bulwark.Status{Kind: "redislimit", State: "ok"}, l.Status())
	assert.False(t, l.Degraded())
}

func TestTwoInstancesShareOneBucket(t *testing.T) {
	s := redistest.Start(t)
	a := redislimit.New(s.Client(t), hourly, 5, steady)
	b := redislimit.New(s.Client(t), hourly, 5, steady)
	ctx := context.Background()
	admitted := 0
	for i := range 10 {
		l := a
		if i%2 == 1 {
			l = b
		}
		if l.Execute(ctx, nop) == nil {
			admitted++
		}
	}
	assert.Equal(t, 5, admitted, "the burst is shared by both instances")
	err := a.Execute(ctx, nop)
	require.ErrorIs(t, err, ratelimit.ErrLimited)
	require.ErrorIs(t, err, bulwark.ErrRejected)
	d, ok := bulwark.RetryAfter(err)
	require.True(t, ok, "a rejection says when a token is there")
	assert.InDelta(t, time.Hour.Seconds(), d.Seconds(), 60)
	assert.EqualValues(t, 6, a.Status().Rejected+b.Status().Rejected)
}

func TestAllowNResult(t *testing.T) {
	s := redistest.Start(t)
	l := redislimit.New(s.Client(t), 10, 20, steady)
	ctx := context.Background()

	r, err := l.AllowN(ctx, "u1", 0)
	require.NoError(t, err)
	assert.Equal(t, redislimit.Result{Allowed: true, Remaining: 20}, r, "n = 0 reads a full bucket")

	r, err = l.AllowN(ctx, "u1", 15)
	require.NoError(t, err)
	assert.True(t, r.Allowed)
	assert.Equal(t, 5, r.Remaining)
	assert.InDelta(t, 1.5, r.ResetAfter.Seconds(), 0.05, "15 tokens refill in 1.5s at 10/s")

	r, err = l.AllowN(ctx, "u1", 10)
	require.ErrorIs(t, err, ratelimit.ErrLimited)
	assert.False(t, r.Allowed)
	assert.InDelta(t, 0.5, r.RetryAfter.Seconds(), 0.05, "5 more tokens take 0.5s")
	d, ok := bulwark.RetryAfter(err)
	require.True(t, ok)
	assert.Equal(t, r.RetryAfter, d)

	r, err = l.AllowN(ctx, "u1", 21)
	require.ErrorIs(t, err, ratelimit.ErrLimited)
	assert.Equal(t, time.Duration(-1), r.RetryAfter, "more than the burst never comes")
	_, ok = bulwark.RetryAfter(err)
	assert.False(t, ok)

	_, err = l.AllowN(ctx, "u1", -1)
	assert.EqualError(t, err, "bulwark/redislimit: AllowN: n must be >= 0, got -1")

	r, err = l.AllowN(ctx, "u2", 20)
	require.NoError(t, err, "another key has a bucket of its own")
	assert.True(t, r.Allowed)
}

func TestInfiniteLimitAsksNothing(t *testing.T) {
	s := redistest.Start(t)
	l := redislimit.New(s.Client(t), rate.Inf, 1)
	s.ResetStats(t)
	for range 100 {
		require.NoError(t, l.Execute(context.Background(), nop))
	}
	assert.Zero(t, s.CommandStats(t)["evalsha"]+s.CommandStats(t)["eval"])
}

// +Inf is an infinite limit as rate.Inf (math.MaxFloat64) is, as it is
// for ratelimit.New: every call is admitted, whatever the burst, the key,
// the lease or the fail mode, and Redis is never asked.
func TestPositiveInfinityIsAnInfiniteLimit(t *testing.T) {
	s := redistest.Start(t)
	c := s.Client(t)
	type k struct{}
	byKey := redislimit.WithKey(func(ctx context.Context) string { v, _ := ctx.Value(k{}).(string); return v })
	for name, l := range map[string]*redislimit.Limiter{
		"plain":              redislimit.New(c, rate.Limit(math.Inf(1)), 1),
		"keyed":              redislimit.New(c, rate.Limit(math.Inf(1)), 1, byKey),
		"lease":              redislimit.New(c, rate.Limit(math.Inf(1)), 1, redislimit.WithLease(10)),
		"failClosed":         redislimit.New(c, rate.Limit(math.Inf(1)), 1, redislimit.WithFailMode(redislimit.FailClosed)),
		"failLocal":          redislimit.New(c, rate.Limit(math.Inf(1)), 1, redislimit.WithLocalShare(0.5)),
		"rate.Inf, no burst": redislimit.New(c, rate.Inf, 0, redislimit.WithLease(10)),
	} {
		s.ResetStats(t)
		ctx := context.WithValue(context.Background(), k{}, "tenant")
		for range 100 {
			require.NoError(t, l.Execute(ctx, nop), name)
		}
		r, err := l.AllowN(ctx, "tenant", 1000)
		require.NoError(t, err, name)
		assert.True(t, r.Allowed, name)
		assert.Zero(t, s.CommandStats(t)["evalsha"]+s.CommandStats(t)["eval"], "%s: Redis was asked", name)
		assert.Zero(t, l.Status().Rejected, name)
	}
	for _, local := range []*ratelimit.Limiter{ratelimit.New(rate.Limit(math.Inf(1)), 1), ratelimit.New(rate.Inf, 0)} {
		for range 100 {
			require.NoError(t, local.Execute(context.Background(), nop), "ratelimit agrees")
		}
	}
}

func TestKeysAreEscapedTaggedAndExpire(t *testing.T) {
	s := redistest.Start(t)
	c := s.Client(t)
	type k struct{}
	l := redislimit.New(c, 100, 10, steady, redislimit.WithPrefix("app:"),
		redislimit.WithKey(func(ctx context.Context) string { return ctx.Value(k{}).(string) }))
	ctx := context.Background()
	long := strings.Repeat("x", 300)
	for _, key := range []string{"alice", "a}{b c\r\n*", long} {
		require.NoError(t, l.Execute(context.WithValue(ctx, k{}, key), nop))
	}
	keys, err := c.Keys(ctx, "*").Result()
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{
		"app:{alice}",
		"app:{a%7D%7Bb%20c%0D%0A%2A}",
		"app:{#" + sha256Hex(long) + "}",
	}, keys)
	for _, key := range keys {
		ttl, err := c.PTTL(ctx, key).Result()
		require.NoError(t, err)
		assert.Positive(t, ttl, key)
		assert.LessOrEqual(t, ttl, 10*time.Millisecond, "the key lives until its bucket is full again: one token at 100/s")
	}
}

func TestScriptReloadedAfterFlush(t *testing.T) {
	s := redistest.Start(t)
	c := s.Client(t)
	l := redislimit.New(c, hourly, 3, steady)
	ctx := context.Background()
	require.NoError(t, l.Execute(ctx, nop))
	require.NoError(t, c.ScriptFlush(ctx).Err())
	require.NoError(t, l.Execute(ctx, nop), "NOSCRIPT falls back to EVAL")
	st := s.CommandStats(t)
	assert.Positive(t, st["eval"])
	assert.Positive(t, st["evalsha"])
}

func TestRejectionEventsAndMetrics(t *testing.T) {
	s := redistest.Start(t)
	m := otest.NewMeter()
	var ev otest.Events
	l := redislimit.New(s.Client(t), hourly, 1, steady, redislimit.WithName("api"),
		redislimit.WithMeterProvider(m), redislimit.WithObserver(ev.Observe))
	ctx := context.Background()
	require.NoError(t, l.Execute(ctx, nop))
	require.Error(t, l.Execute(ctx, nop))
	got := ev.List()
	require.Len(t, got, 1)
	assert.Equal(t, bulwark.EventRejected, got[0].Type)
	assert.Equal(t, "redislimit", got[0].Policy)
	assert.Equal(t, "api", got[0].Name)
	assert.Greater(t, got[0].Delay, 59*time.Minute)
	st := l.Status()
	assert.Equal(t, "api", st.Name)
	assert.EqualValues(t, 1, st.Rejected)
	assert.Equal(t, "ok", st.State)
	_, ok := m.Metric(t, "bulwark.redis.degraded")
	assert.True(t, ok)
}

func sha256Hex(s string) string {
	return fmt.Sprintf("%x", sha256Sum([]byte(s)))
}

var _ = errors.New
