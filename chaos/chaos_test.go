package chaos_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/chaos"
	"github.com/bulwark-go/bulwark/fallback"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/stretchr/testify/assert"
)

// runs reports whether the call ran, and what c returned.
func runs(c bulwark.Policy, ctx context.Context) (bool, error) {
	ran := false
	err := c.Execute(ctx, func(context.Context) error { ran = true; return nil })
	return ran, err
}

// A Chaos starts disabled: every call runs untouched until SetEnabled
// switches it on for all calls, Enable for one, or a predicate for some.
func TestInjectionIsSwitchedOnGloballyPerCallOrByPredicate(t *testing.T) {
	ctx := context.Background()
	c := chaos.New(chaos.WithError(1, errInjected))
	ran, err := runs(c, ctx)
	assert.True(t, ran)
	assert.NoError(t, err, "disabled by default")

	ran, err = runs(c, chaos.Enable(ctx))
	assert.False(t, ran)
	assert.Equal(t, errInjected, err, "enabled for one call by its context")
	ran, err = runs(c, ctx)
	assert.True(t, ran)
	assert.NoError(t, err, "only that call")

	c.SetEnabled(true)
	assert.True(t, c.Enabled())
	_, err = runs(c, ctx)
	assert.Equal(t, errInjected, err, "enabled for every call")
	c.SetEnabled(false)
	assert.False(t, c.Enabled())
	_, err = runs(c, ctx)
	assert.NoError(t, err)

	type tenant struct{}
	p := chaos.New(chaos.WithError(1, errInjected),
		chaos.WithEnabled(func(ctx context.Context) bool { return ctx.Value(tenant{}) == "canary" }),
		chaos.WithEnabled(func(ctx context.Context) bool { return ctx.Value(tenant{}) == "staging" }))
	for who, want := range map[string]error{"canary": errInjected, "staging": errInjected, "prod": nil} {
		_, err := runs(p, context.WithValue(ctx, tenant{}, who))
		assert.Equal(t, want, err, "predicates: any of them enables, %s", who)
	}
}

// The zero Chaos and a Chaos without faults run every call, switched on
// or not, and never panic.
func TestZeroChaosAndNoFaultsRunEveryCall(t *testing.T) {
	var zero chaos.Chaos
	zero.SetEnabled(true)
	for _, c := range []*chaos.Chaos{&zero, chaos.New(), chaos.New(nil, chaos.WithSeed(1))} {
		c.SetEnabled(true)
		ran, err := runs(c, chaos.Enable(context.Background()))
		assert.True(t, ran)
		assert.NoError(t, err)
		assert.Equal(t, chaos.Snapshot{Enabled: true}, c.Snapshot())
	}
	assert.Equal(t, bulwark.Status{Kind: "chaos", State: "enabled"}, zero.Status())
	assert.Equal(t, bulwark.ErrNilFunc, zero.Execute(context.Background(), nil))
	var nilCtx context.Context
	assert.Equal(t, bulwark.ErrNilContext, zero.Execute(nilCtx, testutil.Nop))
}

// A panic is injected before the call runs, with ErrPanic, and reaches
// the caller as a panic; fallback.WithRecover turns it into an error
// errors.Is recognises.
func TestInjectedPanic(t *testing.T) {
	c := chaos.New(chaos.WithPanic(1))
	c.SetEnabled(true)
	ran := false
	v := testutil.Recovered(func() {
		_ = c.Execute(context.Background(), func(context.Context) error { ran = true; return nil })
	})
	assert.Equal(t, chaos.ErrPanic, v)
	assert.False(t, ran)

	p := bulwark.New(fallback.New(func(_ context.Context, err error) error { return err }, fallback.WithRecover()), c)
	assert.ErrorIs(t, p.Execute(context.Background(), testutil.Nop), chaos.ErrPanic)
	assert.Equal(t, int64(2), c.Snapshot().Panics)
}

// Panics with a seed leave nothing locked (the decisions are drawn before
// the panic) and keep the seed's sequence.
func TestPanicsWithASeedKeepTheSequence(t *testing.T) {
	trace := func() string {
		c := chaos.New(chaos.WithSeed(99), chaos.WithPanic(0.5), chaos.WithError(0.25, errInjected))
		c.SetEnabled(true)
		var b strings.Builder
		for range 200 {
			v := testutil.Recovered(func() {
				_, err := runs(c, context.Background())
				fmt.Fprint(&b, map[bool]string{true: "E", false: "."}[err != nil])
			})
			if v != nil {
				b.WriteString("P")
			}
		}
		return b.String()
	}
	a := trace()
	assert.Equal(t, a, trace())
	assert.Contains(t, a, "P")
	assert.Contains(t, a, "E")
	assert.Contains(t, a, ".")
}

// The same seed gives the same decisions for the same calls on one
// goroutine, delays included; another seed gives others.
func TestSameSeedSameDecisions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		trace := func(seed uint64) string {
			c := chaos.New(chaos.WithSeed(seed),
				chaos.WithLatency(0.3, time.Second, 500*time.Millisecond),
				chaos.WithError(0.2, errInjected),
				chaos.WithOutcome(0.1, func(context.Context, error) error { return errReplaced }))
			c.SetEnabled(true)
			var b strings.Builder
			for range 500 {
				start := time.Now()
				err := c.Execute(context.Background(), testutil.Nop)
				fmt.Fprintf(&b, "%v/%v ", time.Since(start), err)
			}
			return b.String()
		}
		a := trace(42)
		assert.Equal(t, a, trace(42))
		assert.NotEqual(t, a, trace(43))
	})
}

// An outcome fault runs the call and returns what the function makes of
// its outcome.
func TestOutcomeReplacesTheCallsOutcome(t *testing.T) {
	var got []error
	c := chaos.New(chaos.WithOutcome(1, func(_ context.Context, err error) error {
		got = append(got, err)
		return errReplaced
	}))
	c.SetEnabled(true)
	ran, err := runs(c, context.Background())
	assert.True(t, ran)
	assert.Equal(t, errReplaced, err)
	assert.Equal(t, errReplaced, c.Execute(context.Background(), testutil.Fail))
	assert.Equal(t, []error{nil, testutil.ErrDep}, got)
}

// A delay is cut short by the call's context, which the call then
// returns without running, however long the delay: math.MaxInt64 with
// as much jitter saturates instead of overflowing.
func TestLatencyIsCutByTheContext(t *testing.T) {
	for _, l := range []struct{ d, jitter time.Duration }{
		{time.Hour, 0},
		{math.MaxInt64, 0},
		{math.MaxInt64, math.MaxInt64},
		{math.MaxInt64 - 1, math.MaxInt64 / 2},
	} {
		synctest.Test(t, func(t *testing.T) {
			c := chaos.New(chaos.WithLatency(1, l.d, l.jitter))
			c.SetEnabled(true)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			start := time.Now()
			ran, err := runs(c, ctx)
			assert.Equal(t, time.Second, time.Since(start), "%v ± %v", l.d, l.jitter)
			assert.False(t, ran)
			assert.Equal(t, context.DeadlineExceeded, err)
			assert.Equal(t, chaos.Snapshot{Enabled: true, Latencies: 1}, c.Snapshot())

			// Cancelled while held: Delaying counts it meanwhile.
			ctx2, cancel2 := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { _, err := runs(c, ctx2); done <- err }()
			synctest.Wait()
			assert.Equal(t, 1, c.Snapshot().Delaying)
			assert.Equal(t, 1, c.Status().InFlight)
			cancel2()
			assert.Equal(t, context.Canceled, <-done)
			assert.Zero(t, c.Snapshot().Delaying)
		})
	}
}

// A delay and an abort can fall on the same call: it waits, then fails.
func TestDelayThenError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := chaos.New(chaos.WithLatency(1, time.Second, 0), chaos.WithError(1, errInjected))
		c.SetEnabled(true)
		start := time.Now()
		ran, err := runs(c, context.Background())
		assert.Equal(t, time.Second, time.Since(start))
		assert.False(t, ran)
		assert.Equal(t, errInjected, err)
	})
}

// Calls from many goroutines share one Chaos, seeded or not: the race
// detector watches, and every fault is counted once.
func TestConcurrentCalls(t *testing.T) {
	for _, seeded := range []bool{false, true} {
		opts := []chaos.Option{chaos.WithError(0.5, errInjected)}
		if seeded {
			opts = append(opts, chaos.WithSeed(5))
		}
		c := chaos.New(opts...)
		c.SetEnabled(true)
		var mu sync.Mutex
		failed := 0
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 500 {
					if _, err := runs(c, context.Background()); err != nil {
						mu.Lock()
						failed++
						mu.Unlock()
					}
					_ = c.Status()
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int64(failed), c.Snapshot().Errors)
		assert.InDelta(t, 2000, failed, 200, "seeded %v", seeded)
	}
}
