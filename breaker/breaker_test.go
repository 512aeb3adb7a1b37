package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/internal/outcome"
	"github.com/bulwark-go/bulwark/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func fail(context.Context) error { return errDep }

// transitions records the state changes a breaker reports.
type transitions struct {
	mu  sync.Mutex
	got []string
}

func (tr *transitions) observe(_ context.Context, e bulwark.Event) {
	if e.Type != bulwark.EventStateChange {
		return
	}
	tr.mu.Lock()
	tr.got = append(tr.got, e.From+">"+e.To+":"+e.Reason)
	tr.mu.Unlock()
}

func (tr *transitions) list() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.got...)
}

func run(b *breaker.Breaker, outcomes string) {
	for _, o := range outcomes {
		switch o {
		case 'S':
			_ = b.Execute(context.Background(), nop)
		case 'F':
			_ = b.Execute(context.Background(), fail)
		}
	}
}

func TestDefaultsOpenAfterFiveConsecutiveFailures(t *testing.T) {
	b := breaker.New()
	run(b, "FFFF")
	assert.Equal(t, breaker.Closed, b.State())
	assert.Equal(t, 4, b.Snapshot().ConsecutiveFailures)
	run(b, "F")
	assert.Equal(t, breaker.Open, b.State())
}

func TestConsecutiveFailuresTripOnTheNthAndRejectWithAHint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tr transitions
		b := breaker.New(breaker.WithConsecutiveFailures(3), breaker.WithOpenDuration(10*time.Second), breaker.WithObserver(tr.observe))
		run(b, "FFSFF")
		assert.Equal(t, breaker.Closed, b.State(), "a success ends the streak")
		run(b, "F")
		require.Equal(t, breaker.Open, b.State())
		assert.Equal(t, []string{"closed>open:consecutive_failures"}, tr.list())

		time.Sleep(4 * time.Second)
		called := false
		err := b.Execute(context.Background(), func(context.Context) error { called = true; return nil })
		assert.False(t, called)
		assert.ErrorIs(t, err, breaker.ErrOpen)
		assert.ErrorIs(t, err, bulwark.ErrRejected)
		d, ok := bulwark.RetryAfter(err)
		assert.True(t, ok)
		assert.Equal(t, 6*time.Second, d)
		assert.Equal(t, 6*time.Second, b.Snapshot().UntilHalfOpen)
	})
}

func TestCountWindowTripsAtTheExactCallAndNeverOnASuccess(t *testing.T) {
	var tr transitions
	b := breaker.New(breaker.WithFailureRatio(0.5), breaker.WithCountWindow(4), breaker.WithObserver(tr.observe))
	run(b, "FFS")
	assert.Equal(t, breaker.Closed, b.State(), "3 calls are below the minimum of 4")
	run(b, "S")
	// 2 failures of 4 reach the ratio, but the 4th call succeeded: a breaker
	// opens on a failure, never on a success (PEER-DIFFERENCES 4).
	assert.Equal(t, breaker.Closed, b.State())
	s := b.Snapshot()
	assert.Equal(t, 4, s.Calls)
	assert.Equal(t, 2, s.Failures)
	assert.Equal(t, 0.5, s.FailureRatio)
	run(b, "S")
	assert.Equal(t, 1, b.Snapshot().Failures, "the oldest failure left the window")
	run(b, "F") // window [S S S F]: 1 of 4
	assert.Equal(t, breaker.Closed, b.State())
	run(b, "F") // window [S S F F]: 2 of 4, on a failure
	assert.Equal(t, breaker.Open, b.State())
	assert.Equal(t, []string{"closed>open:failure_ratio"}, tr.list())
}

func TestTimeWindowForgetsOldBuckets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.WithFailureRatio(0.5), breaker.WithTimeWindow(10*time.Second, 10), breaker.WithMinimumCalls(3))
		run(b, "FF")
		time.Sleep(10 * time.Second) // both failures' bucket is reused from now on
		run(b, "S")
		s := b.Snapshot()
		assert.Equal(t, 1, s.Calls, "old buckets forgotten")
		run(b, "FS")
		assert.Equal(t, breaker.Closed, b.State(), "1 failure of 3")
		time.Sleep(5 * time.Second)
		run(b, "F")
		assert.Equal(t, breaker.Open, b.State(), "2 failures of 4 within the span")
	})
}

func TestSlowCallsTrip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tr transitions
		b := breaker.New(breaker.WithSlowCalls(100*time.Millisecond, 0.5), breaker.WithCountWindow(4),
			breaker.WithMinimumCalls(2), breaker.WithObserver(tr.observe))
		sleeping := func(d time.Duration) func(context.Context) error {
			return func(context.Context) error { time.Sleep(d); return nil }
		}
		require.NoError(t, b.Execute(context.Background(), sleeping(100*time.Millisecond)))
		require.NoError(t, b.Execute(context.Background(), sleeping(time.Millisecond)))
		assert.Equal(t, 0, b.Snapshot().SlowCalls, "exactly the threshold is not slow")
		require.NoError(t, b.Execute(context.Background(), sleeping(101*time.Millisecond)))
		assert.Equal(t, breaker.Closed, b.State(), "1 slow call of 3")
		require.NoError(t, b.Execute(context.Background(), sleeping(time.Second)))
		assert.Equal(t, breaker.Open, b.State(), "2 slow of 4: a slow success trips")
		assert.Equal(t, []string{"closed>open:slow_call_ratio"}, tr.list())
	})
}

func TestOpenHalfOpenClosedCycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tr transitions
		b := breaker.New(breaker.WithConsecutiveFailures(1), breaker.WithOpenDuration(time.Second), breaker.WithObserver(tr.observe))
		run(b, "F")
		time.Sleep(999 * time.Millisecond)
		synctest.Wait()
		assert.Equal(t, breaker.Open, b.State())
		time.Sleep(time.Millisecond)
		synctest.Wait()
		assert.Equal(t, breaker.HalfOpen, b.State(), "half-open the moment the open time ends, without a call")
		run(b, "S")
		assert.Equal(t, breaker.Closed, b.State())
		assert.Equal(t, []string{
			"closed>open:consecutive_failures", "open>half_open:open_duration_elapsed", "half_open>closed:probes_succeeded",
		}, tr.list())
	})
}

func TestOpenDurationBacksOffAcrossReopens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.WithConsecutiveFailures(1), breaker.WithOpenDuration(time.Second),
			breaker.WithOpenBackoff(2, 5*time.Second))
		run(b, "F")
		var got []time.Duration
		for range 4 {
			got = append(got, b.Snapshot().UntilHalfOpen)
			time.Sleep(b.Snapshot().UntilHalfOpen)
			synctest.Wait()
			require.Equal(t, breaker.HalfOpen, b.State())
			run(b, "F") // the probe fails: reopen
		}
		assert.Equal(t, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second}, got)

		time.Sleep(5 * time.Second)
		synctest.Wait()
		run(b, "S") // closing resets the backoff
		run(b, "F")
		assert.Equal(t, time.Second, b.Snapshot().UntilHalfOpen)
	})
}

func TestOpenJitterSpreadsDurations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.WithConsecutiveFailures(1), breaker.WithOpenDuration(10*time.Second), breaker.WithOpenJitter(0.5))
		seen := map[time.Duration]bool{}
		for range 50 {
			run(b, "F")
			d := b.Snapshot().UntilHalfOpen
			assert.GreaterOrEqual(t, d, 5*time.Second)
			assert.LessOrEqual(t, d, 15*time.Second)
			seen[d] = true
			b.Reset()
		}
		assert.Greater(t, len(seen), 40, "durations are spread, not equal")
	})
}

func openNow(b *breaker.Breaker) {
	b.Reset()
	for b.State() == breaker.Closed {
		_ = b.Execute(context.Background(), fail)
	}
}

// Probe concurrency (PEER-DIFFERENCES 3): one probe by default.
func TestHalfOpenAdmitsOneProbeByDefault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.WithOpenDuration(time.Second))
		openNow(b)
		time.Sleep(time.Second)
		synctest.Wait()
		p, err := b.Acquire(context.Background())
		require.NoError(t, err)
		_, err = b.Acquire(context.Background())
		assert.ErrorIs(t, err, breaker.ErrOpen)
		p.Done(context.Background(), nil)
		assert.Equal(t, breaker.Closed, b.State(), "one success closes it")
	})
}

func TestHalfOpenAdmitsExactlyKProbes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.WithConsecutiveFailures(1), breaker.WithOpenDuration(time.Second), breaker.WithHalfOpenProbes(3))
		openNow(b)
		time.Sleep(time.Second)
		synctest.Wait()
		var permits [3]*breaker.Permit
		for i := range permits {
			var err error
			permits[i], err = b.Acquire(context.Background())
			require.NoError(t, err)
		}
		_, err := b.Acquire(context.Background())
		assert.ErrorIs(t, err, breaker.ErrOpen)
		_, hinted := bulwark.RetryAfter(err)
		assert.False(t, hinted, "busy probes give no hint")
		assert.Equal(t, 3, b.Snapshot().ProbesAdmitted)

		permits[0].Done(context.Background(), nil)
		permits[1].Done(context.Background(), nil)
		assert.Equal(t, breaker.HalfOpen, b.State(), "closes after k successes")
		permits[2].Done(context.Background(), nil)
		assert.Equal(t, breaker.Closed, b.State())
	})
}

func TestHalfOpenSuccessesAndRatio(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cases := []struct {
			name     string
			opt      breaker.Option
			outcomes string
			want     breaker.State
		}{
			{"2 of 4 succeed", breaker.WithHalfOpenSuccesses(2), "SFS", breaker.Closed},
			{"more than 4-2 fail", breaker.WithHalfOpenSuccesses(2), "FSFF", breaker.Open},
			{"2 failures still leave room", breaker.WithHalfOpenSuccesses(2), "FF", breaker.HalfOpen},
			{"ratio 0.75 of 4 needs 3", breaker.WithHalfOpenSuccessRatio(0.75), "SSFS", breaker.Closed},
			{"ratio 0.75: a second failure reopens", breaker.WithHalfOpenSuccessRatio(0.75), "SFF", breaker.Open},
			{"default: any failure reopens", nil, "SSSF", breaker.Open},
		}
		for _, tc := range cases {
			b := breaker.New(breaker.WithConsecutiveFailures(1), breaker.WithOpenDuration(time.Second),
				breaker.WithHalfOpenProbes(4), tc.opt)
			openNow(b)
			time.Sleep(time.Second)
			synctest.Wait()
			var permits []*breaker.Permit
			for range tc.outcomes {
				p, err := b.Acquire(context.Background())
				require.NoError(t, err, tc.name)
				permits = append(permits, p)
			}
			for i, o := range tc.outcomes {
				var err error
				if o == 'F' {
					err = errDep
				}
				permits[i].Done(context.Background(), err)
			}
			assert.Equal(t, tc.want, b.State(), tc.name)
		}
	})
}

func TestPermitCannotLeakAProbeSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tr transitions
		b := breaker.New(breaker.WithConsecutiveFailures(1), breaker.WithOpenDuration(time.Second),
			breaker.WithHalfOpenProbes(2), breaker.WithHalfOpenMaxWait(5*time.Second), breaker.WithObserver(tr.observe))
		openNow(b)
		time.Sleep(time.Second)
		synctest.Wait()

		p, err := b.Acquire(context.Background())
		require.NoError(t, err)
		p.Done(context.Background(), nil)
		p.Done(context.Background(), nil) // ignored: it would close the breaker with one probe
		assert.Equal(t, breaker.HalfOpen, b.State())
		assert.Equal(t, 1, b.Snapshot().ProbeSuccesses)

		lost, err := b.Acquire(context.Background()) // never reported in time
		require.NoError(t, err)
		_, err = b.Acquire(context.Background())
		assert.ErrorIs(t, err, breaker.ErrOpen, "both slots taken")

		time.Sleep(5 * time.Second)
		synctest.Wait()
		assert.Equal(t, breaker.Open, b.State(), "the half-open wait reclaimed the slot by reopening")
		lost.Done(context.Background(), nil)
		assert.Equal(t, breaker.Open, b.State(), "a late report is dropped")

		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, breaker.HalfOpen, b.State())
		assert.Equal(t, 0, b.Snapshot().ProbesAdmitted, "a fresh half-open period")
		assert.Contains(t, tr.list(), "half_open>open:half_open_timeout")
	})
}

func TestIgnoredProbeFreesItsSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errBadRequest := errors.New("400")
		b := breaker.New(breaker.WithConsecutiveFailures(1), breaker.WithOpenDuration(time.Second),
			breaker.WithIgnoreIf(func(err error) bool { return errors.Is(err, errBadRequest) }))
		openNow(b)
		time.Sleep(time.Second)
		synctest.Wait()
		assert.ErrorIs(t, b.Execute(context.Background(), func(context.Context) error { return errBadRequest }), errBadRequest)
		assert.Equal(t, breaker.HalfOpen, b.State())
		require.NoError(t, b.Execute(context.Background(), nop), "the slot was freed for another probe")
		assert.Equal(t, breaker.Closed, b.State())
	})
}

func TestClassification(t *testing.T) {
	errBad := errors.New("bad request")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name    string
		ctx     context.Context
		err     error
		opts    []breaker.Option
		failure bool
	}{
		{"an error", context.Background(), errDep, nil, true},
		{"a permanent error: the dependency answered", context.Background(), bulwark.Permanent(errDep), nil, false},
		{"the caller's cancellation", canceled, context.Canceled, nil, false},
		{"a timeout of an inner policy", context.Background(), timeout.ErrTimeout, nil, true},
		{"a local rejection of another policy", context.Background(), fmt.Errorf("full: %w", bulwark.ErrRejected), nil, false},
		{"a local rejection with a hint", context.Background(), bulwark.WithRetryAfter(fmt.Errorf("limited: %w", bulwark.ErrRejected), time.Second), nil, false},
		{"a local rejection FailureIf accepts", context.Background(), fmt.Errorf("full: %w", bulwark.ErrRejected), []breaker.Option{breaker.WithFailureIf(func(error) bool { return true })}, false},
		{"the caller's cancellation FailureIf accepts", canceled, context.Canceled, []breaker.Option{breaker.WithFailureIf(func(error) bool { return true })}, false},
		{"a permanent error by predicate", context.Background(), bulwark.Permanent(errDep), []breaker.Option{breaker.WithFailureIf(func(error) bool { return true })}, true},
		{"server pushback (a retry hint)", context.Background(), bulwark.WithRetryAfter(errDep, time.Second), nil, true},
		{"an ignored error", context.Background(), errBad, []breaker.Option{breaker.WithIgnoreIf(func(err error) bool { return err == errBad })}, false},
		{"not a failure by predicate", context.Background(), errBad, []breaker.Option{breaker.WithFailureIf(func(err error) bool { return err != errBad })}, false},
		{"a failure by predicate", context.Background(), errDep, []breaker.Option{breaker.WithFailureIf(func(err error) bool { return err != errBad })}, true},
	}
	for _, tc := range cases {
		b := breaker.New(append([]breaker.Option{breaker.WithConsecutiveFailures(1)}, tc.opts...)...)
		_ = b.Execute(tc.ctx, func(context.Context) error { return tc.err })
		assert.Equal(t, tc.failure, b.State() == breaker.Open, tc.name)
	}
}

func TestPanicCountsAsFailureAndPropagates(t *testing.T) {
	b := breaker.New(breaker.WithConsecutiveFailures(1))
	assert.PanicsWithValue(t, "boom", func() {
		_ = b.Execute(context.Background(), func(context.Context) error { panic("boom") })
	})
	assert.Equal(t, breaker.Open, b.State())
}

// Late results (PEER-DIFFERENCES 9): the outcome of a call admitted before a
// state change does not count in the new state.
func TestLateResultsAreDropped(t *testing.T) {
	b := breaker.New(breaker.WithConsecutiveFailures(2))
	late, err := b.Acquire(context.Background())
	require.NoError(t, err)
	run(b, "FF") // opens
	b.Reset()
	run(b, "F")
	late.Done(context.Background(), errDep) // admitted two generations ago
	assert.Equal(t, breaker.Closed, b.State())
	assert.Equal(t, 1, b.Snapshot().ConsecutiveFailures)
}

func TestIsolateDisableReset(t *testing.T) {
	var tr transitions
	b := breaker.New(breaker.WithConsecutiveFailures(1), breaker.WithObserver(tr.observe))
	b.Isolate()
	assert.Equal(t, breaker.Isolated, b.State())
	err := b.Execute(context.Background(), nop)
	assert.ErrorIs(t, err, breaker.ErrOpen)
	_, hinted := bulwark.RetryAfter(err)
	assert.False(t, hinted)

	b.Disable()
	run(b, "FFF")
	assert.Equal(t, breaker.Disabled, b.State(), "a disabled breaker never opens")
	assert.Equal(t, 3, b.Snapshot().ConsecutiveFailures, "but still records")

	b.Reset()
	assert.Equal(t, breaker.Closed, b.State())
	assert.Zero(t, b.Snapshot().ConsecutiveFailures)
	assert.Equal(t, []string{"closed>isolated:isolate", "isolated>disabled:disable", "disabled>closed:reset"}, tr.list())
}

func TestObserversMayReadTheBreaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var b *breaker.Breaker
		var seen []breaker.State
		b = breaker.New(breaker.WithConsecutiveFailures(1), breaker.WithOpenDuration(time.Second),
			breaker.WithObserver(func(_ context.Context, e bulwark.Event) {
				seen = append(seen, b.State()) // would deadlock if called under the lock
				_ = b.Snapshot()
			}))
		run(b, "F") // state change
		run(b, "S") // rejection
		b.Isolate() // state change
		b.Reset()   // state change
		run(b, "F") // state change
		time.Sleep(time.Second)
		synctest.Wait() // the timer's state change
		assert.Equal(t, []breaker.State{breaker.Open, breaker.Open, breaker.Isolated, breaker.Closed, breaker.Open, breaker.HalfOpen}, seen)
	})
}

func TestExecuteRejectsNilArguments(t *testing.T) {
	b := breaker.New()
	assert.ErrorIs(t, b.Execute(context.Background(), nil), bulwark.ErrNilFunc)
	//lint:ignore SA1012 a nil context is the point of the test
	assert.ErrorIs(t, b.Execute(nil, nop), bulwark.ErrNilContext)
	var zero *breaker.Permit
	zero.Done(context.Background(), errDep) // a nil Permit does nothing
	assert.Equal(t, breaker.Closed, b.State())
}

func TestStateNames(t *testing.T) {
	for s, want := range map[breaker.State]string{
		breaker.Closed: "closed", breaker.Open: "open", breaker.HalfOpen: "half_open",
		breaker.Isolated: "isolated", breaker.Disabled: "disabled", 9: "unknown",
	} {
		assert.Equal(t, want, s.String())
	}
}

func TestBadConfigurationPanicsWithItsName(t *testing.T) {
	cases := map[string]func(){
		"bulwark/breaker: WithConsecutiveFailures: n must be >= 1, got 0":     func() { breaker.WithConsecutiveFailures(0) },
		"bulwark/breaker: WithFailureRatio: ratio must be in (0, 1], got 1.5": func() { breaker.WithFailureRatio(1.5) },
		"bulwark/breaker: WithFailureRatio: ratio must be in (0, 1], got 0":   func() { breaker.WithFailureRatio(0) },
		"bulwark/breaker: WithFailureRatio: ratio must be in (0, 1], got NaN": func() { breaker.WithFailureRatio(nan()) },
		"bulwark/breaker: WithSlowCalls: threshold must be > 0, got -1s":      func() { breaker.WithSlowCalls(-time.Second, 0.5) },
		"bulwark/breaker: WithSlowCalls: ratio must be in (0, 1], got -0.1":   func() { breaker.WithSlowCalls(time.Second, -0.1) },
		"bulwark/breaker: WithCountWindow: n must be in [1, 1048576], got 0":  func() { breaker.WithCountWindow(0) },
		"bulwark/breaker: WithCountWindow: n must be in [1, 1048576], got 4611686018427387904": func() {
			breaker.New(breaker.WithFailureRatio(0.5), breaker.WithCountWindow(1<<62))
		},
		"bulwark/breaker: WithTimeWindow: span must be > 0, got 0s":                   func() { breaker.WithTimeWindow(0, 10) },
		"bulwark/breaker: WithTimeWindow: buckets must be in [1, 1000], got 0":        func() { breaker.WithTimeWindow(time.Second, 0) },
		"bulwark/breaker: WithTimeWindow: span 5ns is shorter than 10 buckets of 1ns": func() { breaker.WithTimeWindow(5, 10) },
		"bulwark/breaker: WithMinimumCalls: n must be >= 1, got -1":                   func() { breaker.WithMinimumCalls(-1) },
		"bulwark/breaker: WithOpenDuration: duration must be > 0, got 0s":             func() { breaker.WithOpenDuration(0) },
		"bulwark/breaker: WithOpenBackoff: factor must be > 1, got 1":                 func() { breaker.WithOpenBackoff(1, time.Minute) },
		"bulwark/breaker: WithOpenBackoff: factor must be > 1, got +Inf":              func() { breaker.WithOpenBackoff(inf(), time.Minute) },
		"bulwark/breaker: WithOpenBackoff: limit must be > 0, got 0s":                 func() { breaker.WithOpenBackoff(2, 0) },
		"bulwark/breaker: WithOpenJitter: fraction must be in [0, 1), got 1":          func() { breaker.WithOpenJitter(1) },
		"bulwark/breaker: WithHalfOpenProbes: k must be >= 1, got 0":                  func() { breaker.WithHalfOpenProbes(0) },
		"bulwark/breaker: WithHalfOpenSuccesses: n must be >= 1, got 0":               func() { breaker.WithHalfOpenSuccesses(0) },
		"bulwark/breaker: WithHalfOpenSuccessRatio: ratio must be in (0, 1], got 2":   func() { breaker.WithHalfOpenSuccessRatio(2) },
		"bulwark/breaker: WithHalfOpenMaxWait: duration must be > 0, got -1ns":        func() { breaker.WithHalfOpenMaxWait(-1) },
		"bulwark/breaker: WithFailureIf: predicate must not be nil":                   func() { breaker.WithFailureIf(nil) },
		"bulwark/breaker: WithIgnoreIf: predicate must not be nil":                    func() { breaker.WithIgnoreIf(nil) },
		"bulwark/breaker: WithName: name must not be empty":                           func() { breaker.WithName("") },
		"bulwark/breaker: WithMeterProvider: provider must not be nil":                func() { breaker.WithMeterProvider(nil) },
		"bulwark/breaker: WithObserver: observer must not be nil":                     func() { breaker.WithObserver(nil) },
		// Combinations, checked by New.
		"bulwark/breaker: WithTimeWindow: a breaker has one window, but WithCountWindow(5) is also set": func() {
			breaker.New(breaker.WithFailureRatio(0.5), breaker.WithCountWindow(5), breaker.WithTimeWindow(time.Second, 10))
		},
		"bulwark/breaker: WithMinimumCalls: 6 exceeds the count window of 5 calls: the ratio rules could never fire": func() {
			breaker.New(breaker.WithFailureRatio(0.5), breaker.WithCountWindow(5), breaker.WithMinimumCalls(6))
		},
		"bulwark/breaker: New: a window or minimum calls is set, but no ratio rule (WithFailureRatio or WithSlowCalls) uses it": func() {
			breaker.New(breaker.WithCountWindow(5))
		},
		"bulwark/breaker: WithOpenBackoff: limit 1s is below the open duration 1m0s": func() {
			breaker.New(breaker.WithOpenDuration(time.Minute), breaker.WithOpenBackoff(2, time.Second))
		},
		"bulwark/breaker: WithHalfOpenSuccesses: n = 3 exceeds the 2 half-open probes": func() {
			breaker.New(breaker.WithHalfOpenProbes(2), breaker.WithHalfOpenSuccesses(3))
		},
	}
	for msg, f := range cases {
		assert.PanicsWithValue(t, msg, f)
	}
	assert.NotNil(t, breaker.New(nil), "nil options are ignored")
}

// A panic is a failure, never a slow call: it has no duration to measure.
func TestPanicIsNeverASlowCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.WithSlowCalls(100*time.Millisecond, 1), breaker.WithCountWindow(10))
		time.Sleep(time.Second)
		assert.Panics(t, func() {
			_ = b.Execute(context.Background(), func(context.Context) error { panic("boom") })
		})
		s := b.Snapshot()
		assert.Equal(t, 1, s.Calls)
		assert.Equal(t, 1, s.Failures)
		assert.Zero(t, s.SlowCalls)
		assert.Equal(t, int64(1), s.Totals[outcome.Failure])
	})
}

// Only real changes of state are events: Reset of a closed breaker and a
// second Isolate or Disable report nothing. Reset still forgets what the
// closed breaker recorded.
func TestOnlyRealStateChangesAreReported(t *testing.T) {
	var tr transitions
	b := breaker.New(breaker.WithConsecutiveFailures(3), breaker.WithObserver(tr.observe))
	run(b, "FF")
	b.Reset()
	assert.Zero(t, b.Snapshot().ConsecutiveFailures, "Reset forgets the streak")
	run(b, "FF")
	assert.Equal(t, breaker.Closed, b.State())
	b.Isolate()
	b.Isolate()
	b.Disable()
	b.Disable()
	b.Reset()
	b.Reset()
	assert.Equal(t, []string{"closed>isolated:isolate", "isolated>disabled:disable", "disabled>closed:reset"}, tr.list())
}

func TestHugeOpenDurationNeverOverflows(t *testing.T) {
	for _, opts := range [][]breaker.Option{
		{breaker.WithOpenDuration(math.MaxInt64)},
		{breaker.WithOpenDuration(math.MaxInt64), breaker.WithOpenJitter(0.5)},
	} {
		b := breaker.New(append(opts, breaker.WithConsecutiveFailures(1))...)
		for range 20 {
			run(b, "F")
			assert.GreaterOrEqual(t, b.Snapshot().UntilHalfOpen, time.Duration(math.MaxInt64/2)-time.Hour)
			assert.ErrorIs(t, b.Execute(context.Background(), nop), breaker.ErrOpen)
			b.Reset()
		}
	}
}

func TestSuccessAndRejectionAllocateNothing(t *testing.T) {
	b := breaker.New(breaker.WithOpenDuration(time.Hour))
	ctx := context.Background()
	assert.Zero(t, testing.AllocsPerRun(1000, func() { _ = b.Execute(ctx, nop) }), "closed success")
	run(b, "FFFFF")
	require.Equal(t, breaker.Open, b.State())
	assert.Zero(t, testing.AllocsPerRun(1000, func() { _ = b.Execute(ctx, nop) }), "open rejection")
	var z breaker.Breaker
	_ = z.Execute(ctx, nop)
	assert.Zero(t, testing.AllocsPerRun(1000, func() { _ = z.Execute(ctx, nop) }), "zero value, closed success")
}
