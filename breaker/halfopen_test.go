package breaker_test

import (
	"context"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An open breaker whose open time ends with no traffic waits in half-open
// for its first probe, however long that takes: no timer reopens it.
func TestHalfOpenWithoutTrafficWaitsForAProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tr transitions
		b := breaker.New(breaker.WithConsecutiveFailures(1), breaker.WithOpenDuration(time.Second),
			breaker.WithObserver(tr.observe))
		run(b, "F")
		time.Sleep(24 * time.Hour)
		synctest.Wait()
		assert.Equal(t, breaker.HalfOpen, b.State())
		require.Equal(t, 2, len(tr.list()), "transitions in a quiet day")
		assert.Equal(t, []string{"closed>open:consecutive_failures", "open>half_open:open_duration_elapsed"}, tr.list())
		require.NoError(t, b.Execute(context.Background(), nop), "the first call after a quiet day is the probe")
		assert.Equal(t, breaker.Closed, b.State())
	})
}

// A probe that runs under Execute always reports, so it is never timed
// out: one slower than the open duration and the half-open max wait
// still closes or reopens the breaker by its own outcome.
func TestSlowExecuteProbeDecidesByItsOwnOutcome(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tr transitions
		b := breaker.New(breaker.WithConsecutiveFailures(1), breaker.WithOpenDuration(time.Second),
			breaker.WithHalfOpenMaxWait(time.Second), breaker.WithObserver(tr.observe))
		slow := func(err error) func(context.Context) error {
			return func(context.Context) error { time.Sleep(10 * time.Second); return err }
		}
		run(b, "F")
		time.Sleep(time.Second)
		require.NoError(t, b.Execute(context.Background(), slow(nil)))
		assert.Equal(t, breaker.Closed, b.State(), "the slow probe's success closed the breaker")

		run(b, "F")
		time.Sleep(time.Second)
		require.ErrorIs(t, b.Execute(context.Background(), slow(errDep)), errDep)
		assert.Equal(t, breaker.Open, b.State())
		assert.Equal(t, []string{
			"closed>open:consecutive_failures", "open>half_open:open_duration_elapsed", "half_open>closed:probes_succeeded",
			"closed>open:consecutive_failures", "open>half_open:open_duration_elapsed", "half_open>open:probe_failed",
		}, tr.list())
	})
}

// The max wait of a two-step permit runs from the permit's admission, not
// from the start of the half-open period.
func TestTwoStepProbeWaitRunsFromItsAdmission(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tr transitions
		b := breaker.New(breaker.WithConsecutiveFailures(1), breaker.WithOpenDuration(time.Second),
			breaker.WithHalfOpenProbes(2), breaker.WithHalfOpenMaxWait(5*time.Second), breaker.WithObserver(tr.observe))
		run(b, "F")
		time.Sleep(time.Second)
		synctest.Wait()
		require.Equal(t, breaker.HalfOpen, b.State())

		time.Sleep(3 * time.Second) // quiet: no timer runs
		lost, err := b.Acquire(context.Background())
		require.NoError(t, err)
		time.Sleep(5*time.Second - time.Nanosecond)
		synctest.Wait()
		assert.Equal(t, breaker.HalfOpen, b.State(), "the permit has not waited its max wait yet")
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		assert.Equal(t, breaker.Open, b.State(), "a permit that never reported reopens the breaker")
		assert.Equal(t, "half_open>open:half_open_timeout", tr.list()[len(tr.list())-1])
		lost.Done(context.Background(), nil)
		assert.Equal(t, breaker.Open, b.State(), "its late report is dropped")
	})
}

// A permit that reports in time stops its wait: nothing reopens the
// breaker later, whatever the other probes do.
func TestTwoStepProbeThatReportsStopsItsWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.WithConsecutiveFailures(1), breaker.WithOpenDuration(time.Second),
			breaker.WithHalfOpenProbes(2), breaker.WithHalfOpenMaxWait(5*time.Second))
		run(b, "F")
		time.Sleep(time.Second)
		p, err := b.Acquire(context.Background())
		require.NoError(t, err)
		time.Sleep(time.Second)
		p.Done(context.Background(), nil)
		time.Sleep(time.Hour)
		synctest.Wait()
		assert.Equal(t, breaker.HalfOpen, b.State())
		assert.Equal(t, 1, b.Snapshot().ProbeSuccesses)
		require.NoError(t, b.Execute(context.Background(), nop))
		assert.Equal(t, breaker.Closed, b.State())
	})
}

// One call every 50 ms, two probes needed, open for 40 ms: the probes
// arrive one after the other and close the breaker.
func TestLowTrafficClosesTheBreaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.WithConsecutiveFailures(1), breaker.WithOpenDuration(40*time.Millisecond),
			breaker.WithHalfOpenProbes(2))
		run(b, "F")
		var rejected int
		for range 20 {
			time.Sleep(50 * time.Millisecond)
			if b.Execute(context.Background(), nop) != nil {
				rejected++
			}
		}
		assert.Equal(t, breaker.Closed, b.State())
		assert.Zero(t, rejected)
	})
}

// Under WithOpenBackoff the open time grows only with failed probes: a
// quiet day adds nothing to it.
func TestOpenBackoffDoesNotGrowWithoutProbes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.WithConsecutiveFailures(1), breaker.WithOpenDuration(time.Second),
			breaker.WithOpenBackoff(2, time.Hour))
		run(b, "F")
		time.Sleep(24 * time.Hour)
		synctest.Wait()
		run(b, "F") // the first probe fails: the first reopen
		assert.Equal(t, 2*time.Second, b.Snapshot().UntilHalfOpen)
	})
}

// A caller that waits exactly the RetryAfter hint of an open breaker is
// admitted: once the open time has passed, a call moves the breaker to
// half-open itself, whether or not the timer has run yet.
func TestWaitingOutTheRetryAfterHintIsAdmitted(t *testing.T) {
	for range 20 {
		synctest.Test(t, func(t *testing.T) {
			b := breaker.New(breaker.WithConsecutiveFailures(1), breaker.WithOpenDuration(time.Second))
			run(b, "F")
			time.Sleep(300 * time.Millisecond)
			err := b.Execute(context.Background(), nop)
			require.ErrorIs(t, err, breaker.ErrOpen)
			d, ok := bulwark.RetryAfter(err)
			require.True(t, ok)
			require.Equal(t, 700*time.Millisecond, d)
			time.Sleep(d)
			require.NoError(t, b.Execute(context.Background(), nop))
			assert.Equal(t, breaker.Closed, b.State())
		})
	}
}

// A two-step probe that never reports reopens the breaker, and that reopen
// grows the open duration as a failed probe does.
func TestHalfOpenTimeoutCountsAsAReopenForBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.WithConsecutiveFailures(1), breaker.WithOpenDuration(time.Second),
			breaker.WithOpenBackoff(3, time.Hour), breaker.WithHalfOpenMaxWait(time.Second))
		run(b, "F")
		time.Sleep(time.Second)
		_, err := b.Acquire(context.Background())
		require.NoError(t, err)
		time.Sleep(time.Second)
		synctest.Wait()
		require.Equal(t, breaker.Open, b.State())
		assert.Equal(t, 3*time.Second, b.Snapshot().UntilHalfOpen)
	})
}

// All of math.MaxInt probes must succeed: the success count does not
// overflow to one that any probe reaches.
func TestHugeProbeCountNeverOverflows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.WithConsecutiveFailures(1), breaker.WithOpenDuration(time.Second),
			breaker.WithHalfOpenProbes(math.MaxInt), breaker.WithHalfOpenSuccessRatio(1))
		run(b, "F")
		time.Sleep(time.Second)
		run(b, "SSS")
		assert.Equal(t, breaker.HalfOpen, b.State())
		assert.Equal(t, 3, b.Snapshot().ProbeSuccesses)
	})
}
