package redislimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/clock"
	"github.com/bulwark-go/bulwark/internal/redistest"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/ratelimit/redislimit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLeaseServesDecisionsLocally(t *testing.T) {
	s := redistest.Start(t)
	l := redislimit.New(s.Client(t), hourly, 100, redislimit.WithLease(10), steady)
	ctx := context.Background()
	s.ResetStats(t)
	for range 10 {
		require.NoError(t, l.Execute(ctx, nop))
	}
	assert.EqualValues(t, 1, s.CommandStats(t)["evalsha"], "ten decisions, one lease")
	assert.InDelta(t, 0, l.Status().Tokens, 0, "the lease is spent")
	require.NoError(t, l.Execute(ctx, nop))
	assert.EqualValues(t, 2, s.CommandStats(t)["evalsha"])
	assert.InDelta(t, 9, l.Status().Tokens, 0)
	r, err := l.AllowN(ctx, "", 0)
	require.NoError(t, err)
	assert.Equal(t, 80, r.Remaining, "Redis counts both leases as taken")
}

func TestLeaseIsCappedAtTheBurstAndRefusalsAreLocal(t *testing.T) {
	s := redistest.Start(t)
	l := redislimit.New(s.Client(t), hourly, 5, redislimit.WithLease(50), steady)
	ctx := context.Background()
	s.ResetStats(t)
	for range 5 {
		require.NoError(t, l.Execute(ctx, nop), "a lease of the whole burst")
	}
	for range 10 {
		err := l.Execute(ctx, nop)
		require.ErrorIs(t, err, ratelimit.ErrLimited)
		d, ok := bulwark.RetryAfter(err)
		require.True(t, ok)
		assert.Greater(t, d, 4*time.Hour, "a new lease of 5 tokens at one an hour")
	}
	assert.EqualValues(t, 2, s.CommandStats(t)["evalsha"], "one lease, one refusal; the rest were refused in the instance")
}

func TestUnspentLeaseExpires(t *testing.T) {
	s := redistest.Start(t)
	clk := clock.NewFake(time.Now())
	l := redislimit.New(s.Client(t), hourly, 10, redislimit.WithLease(10), steady,
		redislimit.WithLeaseLifetime(time.Minute), redislimit.WithClock(clk))
	ctx := context.Background()
	require.NoError(t, l.Execute(ctx, nop))
	clk.Advance(time.Minute - 1)
	require.NoError(t, l.Execute(ctx, nop), "the lease lasts its lifetime")
	clk.Advance(1)
	err := l.Execute(ctx, nop)
	require.ErrorIs(t, err, ratelimit.ErrLimited, "the 8 unspent tokens expired with the lease, and Redis has none left")
}

func TestLeasedDecisionAllocatesNothing(t *testing.T) {
	s := redistest.Start(t)
	l := redislimit.New(s.Client(t), 1e6, 1e6, redislimit.WithLease(100000), steady)
	ctx := context.Background()
	require.NoError(t, l.Execute(ctx, nop))
	assert.Zero(t, testing.AllocsPerRun(1000, func() {
		if l.Execute(ctx, nop) != nil {
			t.Fatal("rejected")
		}
	}))
}

func TestStatusOfAnUnusedLeasedLimiter(t *testing.T) {
	s := redistest.Start(t)
	l := redislimit.New(s.Client(t), hourly, 10, redislimit.WithLease(10), redislimit.WithName("n"))
	assert.Equal(t, bulwark.Status{Kind: "redislimit", Name: "n", State: "ok"}, l.Status())
}
