package bulwark_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/fallback"
	"github.com/bulwark-go/bulwark/hedge"
	"github.com/bulwark-go/bulwark/internal/outcome"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/throttle"
	"github.com/bulwark-go/bulwark/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// This file drives every policy with the same set of outcomes and checks
// what each does against the outcome table of the package doc.

var (
	errIgnoredByRule = errors.New("400 bad request")                // every learner is built to ignore it
	errInnerReject   = fmt.Errorf("inner: %w", bulwark.ErrRejected) // an inner policy refused the call
	errInnerHint     = bulwark.WithRetryAfter(errInnerReject, time.Millisecond)
	errPanic         = "boom"
)

func isIgnoredByRule(err error) bool { return errors.Is(err, errIgnoredByRule) }

// outcomeCase is one way a call can end, with what the table says of it.
type outcomeCase struct {
	name    string
	err     error // what the protected function returns
	cancel  bool  // the caller cancels its context first; the function returns ctx.Err()
	panics  bool  // the function panics with errPanic
	learner outcome.Outcome
	retried bool // retry makes another attempt
	hedged  bool // hedge starts the next attempt at once
	handled bool // a fallback runs
}

var outcomeCases = []outcomeCase{
	{name: "success", learner: outcome.Success},
	{name: "failure", err: errDep, learner: outcome.Failure, retried: true, hedged: true, handled: true},
	{name: "permanent", err: bulwark.Permanent(errDep), learner: outcome.Success, handled: true},
	{name: "ignored by rule", err: errIgnoredByRule, learner: outcome.Ignored, retried: true, hedged: true, handled: true},
	{name: "caller cancel", cancel: true, learner: outcome.Ignored},
	{name: "inner rejection", err: errInnerReject, learner: outcome.Ignored, handled: true},
	{name: "inner rejection with a hint", err: errInnerHint, learner: outcome.Ignored, retried: true, handled: true},
	{name: "timeout", err: timeout.ErrTimeout, learner: outcome.Failure, retried: true, hedged: true, handled: true},
	{name: "panic", panics: true, learner: outcome.Failure},
}

// run calls p once with the case's outcome and checks that the caller gets
// that outcome back unchanged: the error (or nil), or the panic, once.
func (c outcomeCase) run(t *testing.T, p bulwark.Policy) {
	t.Helper()
	ctx := context.Background()
	if c.cancel {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		cancel()
	}
	fn := func(ctx context.Context) error {
		switch {
		case c.panics:
			panic(errPanic)
		case c.cancel:
			return ctx.Err()
		}
		return c.err
	}
	if c.panics {
		assert.PanicsWithValue(t, errPanic, func() { _ = p.Execute(ctx, fn) }, "the panic reaches the caller unchanged")
		return
	}
	err := p.Execute(ctx, fn)
	switch {
	case c.cancel:
		assert.ErrorIs(t, err, context.Canceled)
	case c.err == nil:
		assert.NoError(t, err)
	default:
		assert.ErrorIs(t, err, c.err)
	}
}

// runQuietly is run for a policy whose own rejection may replace the
// outcome (a throttler rejecting locally); it still lets a panic through.
func (c outcomeCase) runQuietly(p bulwark.Policy) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if c.cancel {
		cancel()
	}
	defer func() {
		if v := recover(); v != nil && v != errPanic {
			panic(v)
		}
	}()
	_ = p.Execute(ctx, func(ctx context.Context) error {
		switch {
		case c.panics:
			panic(errPanic)
		case c.cancel:
			return ctx.Err()
		}
		return c.err
	})
}

func TestEveryPolicyFollowsTheOutcomeTable(t *testing.T) {
	policies := []struct {
		name  string
		check func(*testing.T, outcomeCase)
	}{
		{"breaker", checkBreaker},
		{"adaptive bulkhead", checkAdaptive},
		{"throttler", checkThrottler},
		{"retry", checkRetry},
		{"hedge", checkHedge},
		{"fixed bulkhead", checkBulkhead},
		{"rate limiter", checkLimiter},
		{"timeout", checkTimeout},
		{"fallback", checkFallback},
	}
	for _, p := range policies {
		t.Run(p.name, func(t *testing.T) {
			for _, c := range outcomeCases {
				t.Run(c.name, func(t *testing.T) {
					synctest.Test(t, func(t *testing.T) { p.check(t, c) })
				})
			}
		})
	}
}

// The breaker opens on one failure; its totals tell a success from an
// ignored call.
func checkBreaker(t *testing.T, c outcomeCase) {
	b := breaker.New(breaker.WithConsecutiveFailures(1), breaker.WithIgnoreIf(isIgnoredByRule))
	c.run(t, b)
	s := b.Snapshot()
	got := outcome.Success
	switch {
	case s.State == breaker.Open:
		got = outcome.Failure
	case s.Totals[outcome.Ignored] == 1:
		got = outcome.Ignored
	}
	assert.Equal(t, c.learner, got)
	assert.Equal(t, int64(1), s.Totals[c.learner], "counted once, as %v", c.learner)
}

// Under AIMD(0.5), a window of 10 samples that holds a failure halves the
// limit of 4, and one of successes keeps it (too few in flight to grow);
// an ignored call is no sample. Ten calls of the case tell a failure; five
// of them and five failures tell a sample from no sample.
func checkAdaptive(t *testing.T, c outcomeCase) {
	build := func() *bulkhead.Adaptive {
		return bulkhead.NewAdaptive(bulkhead.AIMD(0.5, time.Hour), bulkhead.WithInitialLimit(4),
			bulkhead.WithSampleWindow(time.Nanosecond), bulkhead.WithIgnoreIf(isIgnoredByRule))
	}
	a := build()
	for range 10 {
		c.run(t, a)
		time.Sleep(time.Microsecond) // past the sample window, in the bubble's time
	}
	failed := a.Limit() == 2
	require.Contains(t, []int{2, 4}, a.Limit())
	assert.Zero(t, a.Snapshot().InFlight, "the permits came back")

	a = build()
	for range 5 {
		c.run(t, a)
		time.Sleep(time.Microsecond)
	}
	for range 5 {
		_ = a.Execute(context.Background(), func(context.Context) error { return errDep })
		time.Sleep(time.Microsecond)
	}
	sampled := a.Limit() == 2
	got := outcome.Ignored
	switch {
	case failed:
		got = outcome.Failure
	case sampled:
		got = outcome.Success
	}
	// A panic is a failure for the breaker only: the adaptive limit and
	// the throttler take no overload signal from it.
	want := c.learner
	if c.panics {
		want = outcome.Ignored
	}
	assert.Equal(t, want, got)
}

// SRE throttling: 20 failures push the rejection probability to its cap;
// 20 successes keep it at 0, and so do 20 ignored calls, after which one
// failure gives exactly (1 − 0)/(1 + 1).
func checkThrottler(t *testing.T, c outcomeCase) {
	th := throttle.New(throttle.WithWindow(time.Hour), throttle.WithMaxRejection(0.99),
		throttle.WithIgnoreIf(isIgnoredByRule))
	for range 20 {
		c.runQuietly(th)
	}
	failed := th.Probability() > 0.5
	_ = th.Execute(context.Background(), func(context.Context) error { return errDep })
	got := outcome.Success
	switch {
	case failed:
		got = outcome.Failure
	case th.Probability() == 0.5:
		got = outcome.Ignored
	}
	want := c.learner
	if c.panics {
		want = outcome.Ignored
	}
	assert.Equal(t, want, got)
}

// counting wraps a case's policy check so that it counts the protected
// function's runs.
type counting struct {
	p    bulwark.Policy
	runs atomic.Int32
}

func (c *counting) Execute(ctx context.Context, fn func(context.Context) error) error {
	return c.p.Execute(ctx, func(ctx context.Context) error {
		c.runs.Add(1)
		return fn(ctx)
	})
}

// Retry makes all three attempts of what it retries, with no wait but a
// fitting hint's, and one of anything else.
func checkRetry(t *testing.T, c outcomeCase) {
	r := &counting{p: retry.New(retry.WithMaxAttempts(3), retry.WithDelay(0))}
	start := time.Now()
	c.run(t, r)
	want, wait := 1, time.Duration(0)
	if c.retried {
		want = 3
		if c.err == errInnerHint {
			wait = 2 * time.Millisecond // the hint, before each retry
		}
	}
	assert.Equal(t, int32(want), r.runs.Load(), "attempts")
	assert.Equal(t, wait, time.Since(start))
}

// A hedge an hour away starts at once after a failure, and never after
// anything else.
func checkHedge(t *testing.T, c outcomeCase) {
	h := &counting{p: hedge.New(hedge.WithDelay(time.Hour), hedge.WithMaxHedges(1))}
	start := time.Now()
	c.run(t, h)
	want := 1
	if c.hedged {
		want = 2
	}
	assert.Equal(t, int32(want), h.runs.Load(), "attempts")
	assert.Zero(t, time.Since(start), "no attempt waited for the hedge delay")
}

// Policies that learn nothing pass every outcome through and hold nothing
// afterwards.
func checkBulkhead(t *testing.T, c outcomeCase) {
	b := bulkhead.New(1)
	c.run(t, b)
	c.run(t, b)
	assert.Zero(t, b.Snapshot().InFlight)
	assert.Zero(t, b.Snapshot().Rejected)
}

func checkLimiter(t *testing.T, c outcomeCase) {
	l := ratelimit.New(1, 2)
	c.run(t, l)
	c.run(t, l)
	assert.Zero(t, l.Snapshot().Rejected)
}

// An outer timeout whose deadline does not fire passes the outcome through
// and reports nothing.
func checkTimeout(t *testing.T, c outcomeCase) {
	reported := 0
	tm := timeout.New(time.Hour, timeout.WithObserver(func(context.Context, bulwark.Event) { reported++ }))
	c.run(t, tm)
	assert.Zero(t, reported)
}

func checkFallback(t *testing.T, c outcomeCase) {
	ran := 0
	f := fallback.New(func(ctx context.Context, err error) error {
		ran++
		return err // the outcome stays the call's, so run can check it
	})
	c.run(t, f)
	want := 0
	if c.handled {
		want = 1
	}
	assert.Equal(t, want, ran)
}
