package retry_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/internal/outcome"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// script is a protected function that fails a number of times, then
// succeeds, recording when each attempt started.
type script struct {
	mu       sync.Mutex
	failures int
	err      error
	took     time.Duration
	starts   []time.Time
}

func (s *script) call(context.Context) error {
	s.mu.Lock()
	s.starts = append(s.starts, time.Now())
	n := len(s.starts)
	s.mu.Unlock()
	if s.took > 0 {
		time.Sleep(s.took)
	}
	if n <= s.failures {
		if s.err != nil {
			return s.err
		}
		return testutil.ErrDep
	}
	return nil
}

func (s *script) gaps() []time.Duration {
	var g []time.Duration
	for i := 1; i < len(s.starts); i++ {
		g = append(g, s.starts[i].Sub(s.starts[i-1]))
	}
	return g
}

func TestSuccessOnTheFirstAttemptRunsOnce(t *testing.T) {
	s := &script{}
	require.NoError(t, retry.New().Execute(context.Background(), s.call))
	assert.Len(t, s.starts, 1)
}

func TestRetriesUntilSuccessWaitingTheDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev otest.Events
		s := &script{failures: 2}
		r := retry.New(retry.WithDelay(100*time.Millisecond), retry.WithObserver(ev.Observe))
		require.NoError(t, r.Execute(context.Background(), s.call))
		assert.Equal(t, []time.Duration{100 * time.Millisecond, 100 * time.Millisecond}, s.gaps())
		assert.Equal(t, []bulwark.Event{
			{Type: bulwark.EventRetry, Policy: "retry", Attempt: 2, Delay: 100 * time.Millisecond, Err: testutil.ErrDep},
			{Type: bulwark.EventRetry, Policy: "retry", Attempt: 3, Delay: 100 * time.Millisecond, Err: testutil.ErrDep},
		}, ev.List())
	})
}

func TestZeroDelayRetriesAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{failures: 2}
		start := time.Now()
		require.NoError(t, retry.New(retry.WithDelay(0)).Execute(context.Background(), s.call))
		assert.Len(t, s.starts, 3)
		assert.Zero(t, time.Since(start))
	})
}

// Attempt counting and the exhausted result (PEER-DIFFERENCES 12, 13): 3
// attempts in all, then an error that wraps the last one.
func TestExhaustionWrapsTheLastError(t *testing.T) {
	var ev otest.Events
	s := &script{failures: 10}
	err := retry.New(retry.WithDelay(0), retry.WithObserver(ev.Observe)).Execute(context.Background(), s.call)
	assert.Len(t, s.starts, 3)
	assert.ErrorIs(t, err, retry.ErrExhausted)
	assert.ErrorIs(t, err, testutil.ErrDep)
	var ex *retry.ExhaustedError
	require.ErrorAs(t, err, &ex)
	assert.Equal(t, 3, ex.Attempts)
	assert.Equal(t, retry.ReasonMaxAttempts, ex.Reason)
	assert.Equal(t, "bulwark/retry: gave up after 3 attempts (max_attempts): dependency failed", err.Error())
	last := ev.List()[len(ev.List())-1]
	assert.Equal(t, bulwark.EventExhausted, last.Type)
	assert.Equal(t, retry.ReasonMaxAttempts, last.Reason)
	assert.Equal(t, 3, last.Attempt)
}

func TestOneAttemptMeansNoRetry(t *testing.T) {
	s := &script{failures: 1}
	err := retry.New(retry.WithMaxAttempts(1)).Execute(context.Background(), s.call)
	assert.ErrorIs(t, err, retry.ErrExhausted)
	assert.Len(t, s.starts, 1)
}

func TestErrorsThatAreNotRetried(t *testing.T) {
	errBad := errors.New("bad request")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name string
		ctx  context.Context
		err  error
		opts []retry.Option
	}{
		{"permanent", context.Background(), bulwark.Permanent(testutil.ErrDep), nil},
		{"caller's cancellation", canceled, context.Canceled, nil},
		{"turned down by the predicate", context.Background(), errBad, []retry.Option{retry.WithRetryIf(func(err error) bool { return err != errBad })}},
		{"permanent, whatever the predicate says", context.Background(), bulwark.Permanent(testutil.ErrDep), []retry.Option{retry.WithRetryIf(func(error) bool { return true })}},
	}
	for _, tc := range cases {
		s := &script{failures: 5, err: tc.err}
		err := retry.New(append(tc.opts, retry.WithDelay(0))...).Execute(tc.ctx, s.call)
		assert.Equal(t, tc.err, err, "%s: returned as it is", tc.name)
		assert.Len(t, s.starts, 1, tc.name)
	}
}

func TestCancellationEndsTheSleep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(30*time.Millisecond, cancel)
		s := &script{failures: 5}
		start := time.Now()
		err := retry.New(retry.WithDelay(time.Hour)).Execute(ctx, s.call)
		assert.Equal(t, context.Canceled, err)
		assert.Equal(t, 30*time.Millisecond, time.Since(start))
	})
}

func TestRetryAfterHintIsUsedVerbatimAndCapped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{failures: 2, err: bulwark.WithRetryAfter(testutil.ErrDep, 3*time.Second)}
		r := retry.New(retry.WithExponentialBackoff(10*time.Millisecond, 2, time.Second), retry.WithJitter(retry.JitterFull))
		require.NoError(t, r.Execute(context.Background(), s.call))
		assert.Equal(t, []time.Duration{3 * time.Second, 3 * time.Second}, s.gaps(), "no jitter, not capped by the backoff's max")

		s = &script{failures: 2, err: bulwark.WithRetryAfter(testutil.ErrDep, 3*time.Second)}
		require.NoError(t, retry.New(retry.WithMaxDelay(time.Second)).Execute(context.Background(), s.call))
		assert.Equal(t, []time.Duration{time.Second, time.Second}, s.gaps(), "capped by WithMaxDelay")
	})
}

func TestHintThatDoesNotFitTheDeadlineStopsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev otest.Events
		open := bulwark.WithRetryAfter(testutil.ErrRejected, time.Minute) // as an open breaker says
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		start := time.Now()
		err := retry.New(retry.WithObserver(ev.Observe)).Execute(ctx, func(context.Context) error { return open })
		assert.Zero(t, time.Since(start), "no sleep for a wait that cannot fit")
		var ex *retry.ExhaustedError
		require.ErrorAs(t, err, &ex)
		assert.Equal(t, retry.ReasonRetryAfter, ex.Reason)
		assert.ErrorIs(t, err, bulwark.ErrRejected)
		assert.Equal(t, []bulwark.Event{{Type: bulwark.EventExhausted, Policy: "retry", Attempt: 1,
			Delay: time.Minute, Reason: retry.ReasonRetryAfter, Err: open}}, ev.List(), "the event carries the hint")
	})
}

func TestNeverStartsAnAttemptThatCannotFinishBeforeTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev otest.Events
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		s := &script{failures: 10, took: 300 * time.Millisecond}
		start := time.Now()
		err := retry.New(retry.WithMaxAttempts(10), retry.WithDelay(100*time.Millisecond), retry.WithObserver(ev.Observe)).Execute(ctx, s.call)
		// Attempts at 0 and 400ms, each taking 300ms; a third would end at
		// 700 + 100 + 300 = 1100ms, past the deadline.
		assert.Len(t, s.starts, 2)
		assert.Equal(t, 700*time.Millisecond, time.Since(start))
		var ex *retry.ExhaustedError
		require.ErrorAs(t, err, &ex)
		assert.Equal(t, retry.ReasonDeadline, ex.Reason)
		assert.Equal(t, 2, ex.Attempts)
		assert.ErrorIs(t, err, testutil.ErrDep)
		last := ev.List()[len(ev.List())-1]
		assert.Equal(t, retry.ReasonDeadline, last.Reason)
		assert.Equal(t, 100*time.Millisecond, last.Delay, "the wait that did not fit")
	})
}

func TestMaxDuration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{failures: 10, took: 100 * time.Millisecond}
		start := time.Now()
		err := retry.New(retry.WithMaxAttempts(10), retry.WithDelay(200*time.Millisecond), retry.WithMaxDuration(time.Second)).
			Execute(context.Background(), s.call)
		// Attempts start at 0, 300, 600 and 900ms (the fourth ends exactly at
		// the limit, which fits); a fifth would end at 1300ms.
		assert.Len(t, s.starts, 4)
		assert.Equal(t, time.Second, time.Since(start))
		var ex *retry.ExhaustedError
		require.ErrorAs(t, err, &ex)
		assert.Equal(t, retry.ReasonMaxDuration, ex.Reason)
	})
}

func TestDelayFunc(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var attempts []int
		s := &script{failures: 3}
		r := retry.New(retry.WithMaxAttempts(4), retry.WithDelayFunc(func(attempt int, err error) time.Duration {
			attempts = append(attempts, attempt)
			if attempt == 3 {
				return -time.Second // taken as 0
			}
			return time.Duration(attempt) * time.Second
		}))
		require.NoError(t, r.Execute(context.Background(), s.call))
		assert.Equal(t, []int{2, 3, 4}, attempts)
		assert.Equal(t, []time.Duration{2 * time.Second, 0, 4 * time.Second}, s.gaps())
	})
}

func TestDefaultBackoffIsJitteredExponential(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{failures: 2}
		require.NoError(t, retry.New().Execute(context.Background(), s.call))
		g := s.gaps()
		require.Len(t, g, 2)
		assert.Less(t, g[0], 100*time.Millisecond)
		assert.Less(t, g[1], 200*time.Millisecond)
	})
}

func TestPanicPropagates(t *testing.T) {
	calls := 0
	assert.PanicsWithValue(t, "boom", func() {
		_ = retry.New(retry.WithDelay(0)).Execute(context.Background(), func(context.Context) error {
			calls++
			if calls == 2 {
				panic("boom")
			}
			return testutil.ErrDep
		})
	})
	assert.Equal(t, 2, calls)
}

func TestExecuteRejectsNilArguments(t *testing.T) {
	r := retry.New()
	assert.ErrorIs(t, r.Execute(context.Background(), nil), bulwark.ErrNilFunc)
	//lint:ignore SA1012 a nil context is the point of the test
	assert.ErrorIs(t, r.Execute(nil, func(context.Context) error { return nil }), bulwark.ErrNilContext)
}

func TestBadConfigurationPanicsWithItsName(t *testing.T) {
	cases := map[string]func(){
		"bulwark/retry: WithMaxAttempts: n must be >= 1, got 0":                                             func() { retry.WithMaxAttempts(0) },
		"bulwark/retry: WithDelay: delay must be >= 0, got -1s":                                             func() { retry.WithDelay(-time.Second) },
		"bulwark/retry: WithLinearBackoff: initial must be >= 0, got -1ns":                                  func() { retry.WithLinearBackoff(-1, time.Second, time.Second) },
		"bulwark/retry: WithLinearBackoff: increment must be > 0, got 0s":                                   func() { retry.WithLinearBackoff(0, 0, time.Second) },
		"bulwark/retry: WithLinearBackoff: max must be > 0 and >= initial 2s, got 1s":                       func() { retry.WithLinearBackoff(2*time.Second, time.Second, time.Second) },
		"bulwark/retry: WithExponentialBackoff: initial must be > 0, got 0s":                                func() { retry.WithExponentialBackoff(0, 2, time.Second) },
		"bulwark/retry: WithExponentialBackoff: factor must be >= 1, got 0.5":                               func() { retry.WithExponentialBackoff(time.Second, 0.5, time.Minute) },
		"bulwark/retry: WithExponentialBackoff: factor must be >= 1, got NaN":                               func() { retry.WithExponentialBackoff(time.Second, testutil.NaN(), time.Minute) },
		"bulwark/retry: WithExponentialBackoff: max must be >= initial 1s, got 1ms":                         func() { retry.WithExponentialBackoff(time.Second, 2, time.Millisecond) },
		"bulwark/retry: WithJitter: unknown jitter 9":                                                       func() { retry.WithJitter(9) },
		"bulwark/retry: WithDelayFunc: function must not be nil":                                            func() { retry.WithDelayFunc(nil) },
		"bulwark/retry: WithMaxDelay: delay must be > 0, got 0s":                                            func() { retry.WithMaxDelay(0) },
		"bulwark/retry: WithMaxDuration: duration must be > 0, got -1s":                                     func() { retry.WithMaxDuration(-time.Second) },
		"bulwark/retry: WithRetryIf: predicate must not be nil":                                             func() { retry.WithRetryIf(nil) },
		"bulwark/retry: WithBudget: budget must not be nil":                                                 func() { retry.WithBudget(nil) },
		"bulwark/retry: WithBudget: budget must be comparable (a pointer), got testutil.UncomparableBudget": func() { retry.WithBudget(testutil.UncomparableBudget{}) },
		"bulwark/retry: WithName: name must not be empty":                                                   func() { retry.WithName("") },
		"bulwark/retry: WithMeterProvider: provider must not be nil":                                        func() { retry.WithMeterProvider(nil) },
		"bulwark/retry: WithObserver: observer must not be nil":                                             func() { retry.WithObserver(nil) },
		"bulwark/retry: WithJitter: decorrelated jitter needs a backoff with an initial delay > 0": func() {
			retry.New(retry.WithDelay(0), retry.WithJitter(retry.JitterDecorrelated))
		},
	}
	for msg, f := range cases {
		assert.PanicsWithValue(t, msg, f)
	}
	assert.NotNil(t, retry.New(nil), "nil options are ignored")
}

// A failure marked not to be retried (as bulwark's middleware marks a gRPC
// Internal) is returned at once.
func TestAFailureMarkedNoRetryIsNotRetried(t *testing.T) {
	calls := 0
	err := retry.New(retry.WithMaxAttempts(3), retry.WithDelay(0)).Execute(context.Background(), func(context.Context) error {
		calls++
		return outcome.NoRetry(testutil.ErrDep)
	})
	assert.ErrorIs(t, err, testutil.ErrDep)
	assert.Equal(t, 1, calls)
}
