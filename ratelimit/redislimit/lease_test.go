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
	l := redislimit.New(s.Client(t), hourly, 100, redislimit.WithLease(10), steady,
		redislimit.WithLeaseLifetime(24*time.Hour))
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
	l := redislimit.New(s.Client(t), hourly, 5, redislimit.WithLease(50), steady,
		redislimit.WithLeaseLifetime(24*time.Hour))
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
		assert.InDelta(t, time.Hour.Seconds(), d.Seconds(), 60, "the next token comes in an hour")
	}
	assert.EqualValues(t, 2, s.CommandStats(t)["evalsha"], "one lease, one refusal; the rest were refused in the instance")
}

// TestLeaseIsCappedAtTheLifetime: a lease takes no more tokens than the
// limit brings in a lease's lifetime, so that one spent at the limit's
// pace does not expire unspent.
func TestLeaseIsCappedAtTheLifetime(t *testing.T) {
	s := redistest.Start(t)
	l := redislimit.New(s.Client(t), 10, 100, redislimit.WithLease(100), steady) // 10 tokens a second
	require.NoError(t, l.Execute(context.Background(), nop))
	assert.InDelta(t, 9, l.Status().Tokens, 0, "a lease of the 10 tokens a second brings")
}

func TestUnspentLeaseExpires(t *testing.T) {
	s := redistest.Start(t)
	clk := clock.NewFake(time.Now())
	l := redislimit.New(s.Client(t), hourly, 10, redislimit.WithLease(10), steady,
		redislimit.WithLeaseLifetime(10*time.Hour), redislimit.WithClock(clk)) // a lease of 10 at one an hour
	ctx := context.Background()
	require.NoError(t, l.Execute(ctx, nop))
	clk.Advance(10*time.Hour - 1)
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

// TestALeaseTakesWhatIsThere: a refill takes the tokens Redis has when
// they are fewer than a lease, rather than waiting for a whole lease.
func TestALeaseTakesWhatIsThere(t *testing.T) {
	s := redistest.Start(t)
	plain := redislimit.New(s.Client(t), hourly, 100, steady)
	leased := redislimit.New(s.Client(t), hourly, 100, redislimit.WithLease(100), steady,
		redislimit.WithLeaseLifetime(1000*time.Hour)) // a lease of 100 at one token an hour
	ctx := context.Background()
	_, err := plain.AllowN(ctx, "", 95)
	require.NoError(t, err)
	for i := range 5 {
		require.NoError(t, leased.Execute(ctx, nop), "call %d: Redis holds 5 tokens", i)
	}
	err = leased.Execute(ctx, nop)
	require.ErrorIs(t, err, ratelimit.ErrLimited)
	d, ok := bulwark.RetryAfter(err)
	require.True(t, ok)
	assert.InDelta(t, time.Hour.Seconds(), d.Seconds(), 60, "the next token, not a whole lease, is an hour away")
}

// TestLeasedFleetKeepsTheLimitAtALowRate: at a low limit with a big
// burst, a leased fleet admits close to limit × T + burst, as an unleased
// one does: no lease waits for more tokens than the limit brings in a
// lease's lifetime, and none leaves tokens it was granted unspent.
func TestLeasedFleetKeepsTheLimitAtALowRate(t *testing.T) {
	s := redistest.Start(t)
	const limit, burst, lease = 20, 200, 200
	admitted, calls, elapsed := load(t, s, 2*time.Second, 1<<20, limit, burst,
		redislimit.WithLease(lease), redislimit.WithPrefix("low:"))
	want := limit*elapsed.Seconds() + burst
	t.Logf("lease %d at %d/s, burst %d: admitted %d of %d calls in %v; limit × T + burst = %.0f",
		lease, limit, burst, admitted, calls, elapsed, want)
	assert.LessOrEqual(t, float64(admitted), want+1, "Redis grants no more than the bucket holds")
	// Under contention an instance leaves Redis alone for up to a lease's
	// refill time (here 1s of the limit, 20 tokens), so that many tokens
	// may wait in Redis at the end; the instances' last refills may leave
	// a few unspent.
	assert.GreaterOrEqual(t, float64(admitted), want-(limit+4), "at most a lease's refill time of tokens waits in Redis, and a few in the instances")
}
