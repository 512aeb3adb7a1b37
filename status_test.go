package bulwark_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/fallback"
	"github.com/bulwark-go/bulwark/hedge"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/throttle"
	"github.com/bulwark-go/bulwark/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A dashboard reads every kind of policy through bulwark.Inspectable alone,
// with no type switch over packages: it renders one row a policy from
// Status and nothing else.
func TestADashboardReadsEveryPolicyThroughOneInterface(t *testing.T) {
	ctx := context.Background()
	policies := []bulwark.Policy{
		breaker.New(breaker.WithName("payments"), breaker.WithConsecutiveFailures(2)),
		retry.New(retry.WithName("payments"), retry.WithMaxAttempts(2), retry.WithDelay(0)),
		hedge.New(hedge.WithName("search"), hedge.WithDelay(time.Hour)),
		bulkhead.New(4, bulkhead.WithName("db")),
		bulkhead.NewAdaptive(bulkhead.Vegas(), bulkhead.WithName("db-adaptive")),
		throttle.New(throttle.WithName("backend")),
		ratelimit.New(10, 1, ratelimit.WithName("api")),
		ratelimit.NewSlidingWindow(1, time.Hour, ratelimit.WithName("api-window")),
		ratelimit.NewKeyed(10, 1, func(context.Context) string { return "tenant-a" }, ratelimit.WithName("per-tenant")),
		timeout.New(time.Hour, timeout.WithName("db")),
		fallback.New(func(context.Context, error) error { return nil }, fallback.WithName("cache")),
	}
	kinds := []string{"breaker", "retry", "hedge", "bulkhead", "adaptive", "throttler", "ratelimit", "ratelimit", "ratelimit", "timeout", "fallback"}

	// Two failing calls through each: the breaker opens, the retry retries,
	// the limiters reject the second call, the fallback falls back.
	for _, p := range policies {
		for range 2 {
			_ = p.Execute(ctx, func(context.Context) error { return errDep })
		}
	}

	var rows []string
	for i, p := range policies {
		in, ok := p.(bulwark.Inspectable)
		require.True(t, ok, "%T is not Inspectable", p)
		s := in.Status()
		assert.Equal(t, kinds[i], s.Kind, "%T", p)
		assert.NotEmpty(t, s.Name, "%T", p)
		rows = append(rows, fmt.Sprintf("%-9s %-12s %-9s ok=%d fail=%d ign=%d rej=%d inflight=%d/%d queued=%d tokens=%.0f next=%v retries=%d hedges=%d",
			s.Kind, s.Name, s.State, s.Successes, s.Failures, s.Ignored, s.Rejected,
			s.InFlight, s.Limit, s.Queued, s.Tokens, s.NextState.Round(time.Minute), s.Retries, s.Hedges))
	}
	t.Log("\n" + strings.Join(rows, "\n"))

	status := func(i int) bulwark.Status { return policies[i].(bulwark.Inspectable).Status() }
	assert.Equal(t, "open", status(0).State, "two failures open the breaker")
	assert.Equal(t, int64(2), status(0).Failures)
	assert.Positive(t, status(0).NextState, "an open breaker says when it will probe")
	assert.Equal(t, int64(2), status(1).Retries, "one retry per call")
	assert.Equal(t, int64(2), status(2).Hedges, "a failure starts the hedge at once")
	assert.Equal(t, 4, status(3).Limit)
	assert.Zero(t, status(3).InFlight)
	assert.Positive(t, status(4).Limit)
	assert.Equal(t, int64(1), status(6).Rejected, "the bucket of one token rejects the second call")
	assert.Equal(t, int64(1), status(7).Rejected)
	assert.Equal(t, int64(1), status(8).Rejected)
	assert.Equal(t, int64(2), status(10).Failures, "the fallback replaced two failures")
}
