package core_test

import (
	"context"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/internal/core"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func fail(context.Context) error { return testutil.ErrDep }

func TestTapReceivesABuiltPolicysEventsUntilUntapped(t *testing.T) {
	ctx := context.Background()
	b := breaker.New(breaker.WithName("payments"), breaker.WithConsecutiveFailures(1))
	var tapped otest.Events
	untap, ok := core.Tap(b, tapped.Observe)
	require.True(t, ok)

	_ = b.Execute(ctx, fail)
	require.Len(t, tapped.List(), 1, "the policy reports to a tap as to an observer it was built with")
	e := tapped.List()[0]
	assert.Equal(t, bulwark.EventStateChange, e.Type)
	assert.Equal(t, "breaker", e.Policy)
	assert.Equal(t, "payments", e.Name)
	assert.Equal(t, "open", e.To)

	untap()
	untap() // a second untap does nothing
	b.Reset()
	assert.Len(t, tapped.List(), 1, "nothing reaches an untapped observer")
}

func TestTapReachesAPolicyInsideAPipeline(t *testing.T) {
	b := breaker.New(breaker.WithConsecutiveFailures(1))
	p := bulwark.New(retry.New(retry.WithMaxAttempts(1)), b).With(bulwark.WithName("checkout"))
	var tapped otest.Events
	untap, ok := core.Tap(b, tapped.Observe)
	require.True(t, ok)
	defer untap()

	_ = p.Execute(context.Background(), fail)
	require.Len(t, tapped.List(), 1)
	assert.Equal(t, "checkout", tapped.List()[0].Pipeline)
}

func TestTapsAreIndependent(t *testing.T) {
	b := breaker.New(breaker.WithConsecutiveFailures(1))
	var one, two otest.Events
	untapOne, _ := core.Tap(b, one.Observe)
	untapTwo, _ := core.Tap(b, two.Observe)
	defer untapTwo()
	b.Isolate()
	untapOne()
	b.Reset()
	assert.Len(t, one.List(), 1)
	assert.Len(t, two.List(), 2, "removing one tap leaves the other")
}

// outside is a policy written outside bulwark: it has no reporter.
type outside struct{}

func (outside) Execute(ctx context.Context, fn func(context.Context) error) error { return fn(ctx) }

func TestTapRefusesAPolicyWithoutAReporter(t *testing.T) {
	var tapped otest.Events
	for _, p := range []bulwark.Policy{outside{}, &outside{}, bulwark.New(), new(breaker.Breaker)} {
		untap, ok := core.Tap(p, tapped.Observe)
		assert.False(t, ok, "%T", p)
		assert.Nil(t, untap)
	}
}

func TestStagesListAPipelineSplicedAsItsCallsPassIt(t *testing.T) {
	b, r, h, tm := breaker.New(), retry.New(), bulkhead.New(2), timeout.New(time.Second)
	inner := bulwark.New(h, outside{}).With(bulwark.WithName("inner"), bulwark.WithCallDuration())
	p := bulwark.New(r, b, inner, tm).With(bulwark.WithCallDuration())
	got, ok := core.Stages(p)
	require.True(t, ok)
	assert.Equal(t, []bulwark.Policy{r, b, h, outside{}, tm}, got, "the call-duration stages are left out")

	_, ok = core.Stages(b)
	assert.False(t, ok)
	got, ok = core.Stages(&bulwark.Pipeline{})
	assert.True(t, ok)
	assert.Empty(t, got)
}

func TestTapDurationReceivesEveryCallsDuration(t *testing.T) {
	p := bulwark.New(retry.New(retry.WithMaxAttempts(1))).With(bulwark.WithCallDuration())
	var got []time.Duration
	untap, ok := core.TapDuration(p, func(_ time.Time, d time.Duration) { got = append(got, d) })
	require.True(t, ok)
	for range 3 {
		_ = p.Execute(context.Background(), testutil.Nop)
	}
	untap()
	_ = p.Execute(context.Background(), testutil.Nop)
	assert.Len(t, got, 3)

	_, ok = core.TapDuration(bulwark.New(retry.New()), func(time.Time, time.Duration) {})
	assert.False(t, ok, "a pipeline without WithCallDuration measures nothing")
	_, ok = core.TapDuration(breaker.New(), func(time.Time, time.Duration) {})
	assert.False(t, ok)
}
