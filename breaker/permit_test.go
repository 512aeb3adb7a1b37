package breaker_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/internal/outcome"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// halfOpen returns a breaker that is half-open, with k probe slots and a
// max wait of 5s, inside a synctest bubble.
func halfOpen(t *testing.T, k int, opts ...breaker.Option) *breaker.Breaker {
	t.Helper()
	opts = append([]breaker.Option{breaker.WithConsecutiveFailures(1), breaker.WithOpenDuration(time.Second),
		breaker.WithHalfOpenProbes(k), breaker.WithHalfOpenMaxWait(5 * time.Second)}, opts...)
	b := breaker.New(opts...)
	openNow(b)
	time.Sleep(time.Second)
	synctest.Wait()
	require.Equal(t, breaker.HalfOpen, b.State())
	return b
}

// A two-step call through AcquireInto allocates nothing, admitted or
// rejected, but a half-open probe's max-wait timer; Acquire allocates its
// Permit, 24 bytes, and nothing on a rejection.
func TestAcquireIntoAllocatesNothing(t *testing.T) {
	ctx := context.Background()
	closed := breaker.New(breaker.WithConsecutiveFailures(1 << 30))
	for name, err := range map[string]error{"success": nil, "failure": errDep} {
		var p breaker.Permit
		assert.Zero(t, testing.AllocsPerRun(1000, func() {
			require.NoError(t, closed.AcquireInto(ctx, &p))
			p.Done(ctx, err)
		}), name)
	}
	windowed := breaker.New(breaker.WithFailureRatio(0.99), breaker.WithCountWindow(100), breaker.WithSlowCalls(time.Hour, 1))
	assert.Zero(t, testing.AllocsPerRun(1000, func() {
		var p breaker.Permit
		require.NoError(t, windowed.AcquireInto(ctx, &p))
		p.Done(ctx, nil)
	}), "a window and the slow rule")
	open := breaker.New(breaker.WithOpenDuration(time.Hour))
	openNow(open)
	assert.Zero(t, testing.AllocsPerRun(1000, func() {
		var p breaker.Permit
		require.ErrorIs(t, open.AcquireInto(ctx, &p), breaker.ErrOpen)
		p.Done(ctx, nil)
	}), "rejected")
	assert.Zero(t, testing.AllocsPerRun(1000, func() {
		_, err := open.Acquire(ctx)
		require.ErrorIs(t, err, breaker.ErrOpen)
	}), "Acquire, rejected")
	assert.Equal(t, 1.0, testing.AllocsPerRun(1000, func() {
		p, err := closed.Acquire(ctx)
		require.NoError(t, err)
		p.Done(ctx, nil)
	}), "Acquire")
	if !testutil.Race {
		assert.Equal(t, uint64(24), testutil.BytesPerRun(1000, func() {
			p, _ := closed.Acquire(ctx)
			p.Done(ctx, nil)
		}), "Acquire's Permit")
	}
	synctest.Test(t, func(t *testing.T) {
		// 1000 probes must succeed: the breaker stays half-open, and its
		// list of waiting probes keeps its room. A two-step probe that
		// waits alone arms the max wait's timer (two allocations), which
		// a probe under Execute, which always reports, does without.
		b := halfOpen(t, 1000)
		assert.Equal(t, 2.0, testing.AllocsPerRun(100, func() {
			var p breaker.Permit
			require.NoError(t, b.AcquireInto(ctx, &p))
			p.Done(ctx, nil)
		}), "half-open probe")
		require.Equal(t, breaker.HalfOpen, b.State())
		assert.Equal(t, 101, b.Snapshot().ProbeSuccesses)
	})
}

// One Permit serves call after call: it is admitted again once reported.
func TestAPermitIsReusedOnceReported(t *testing.T) {
	b := breaker.New(breaker.WithConsecutiveFailures(3))
	var p breaker.Permit
	for _, err := range []error{errDep, errDep, nil, errDep, errDep} {
		require.NoError(t, b.AcquireInto(context.Background(), &p))
		p.Done(context.Background(), err)
	}
	assert.Equal(t, breaker.Closed, b.State(), "the success ended the streak")
	assert.Equal(t, [4]int64{1, 4, 0, 0}, b.Snapshot().Totals)
	require.NoError(t, b.AcquireInto(context.Background(), &p))
	p.Done(context.Background(), errDep)
	assert.Equal(t, breaker.Open, b.State())
}

// A second Done is ignored, in closed state (where it would count the
// outcome twice) and half-open (where it would take a success for two
// probes').
func TestASecondDoneIsIgnored(t *testing.T) {
	ctx := context.Background()
	b := breaker.New(breaker.WithConsecutiveFailures(2))
	var p breaker.Permit
	require.NoError(t, b.AcquireInto(ctx, &p))
	p.Done(ctx, errDep)
	p.Done(ctx, errDep)
	assert.Equal(t, breaker.Closed, b.State())
	assert.Equal(t, 1, b.Snapshot().ConsecutiveFailures)
	assert.Equal(t, int64(1), b.Snapshot().Totals[outcome.Failure])

	synctest.Test(t, func(t *testing.T) {
		b := halfOpen(t, 2)
		var p breaker.Permit
		require.NoError(t, b.AcquireInto(ctx, &p))
		p.Done(ctx, nil)
		p.Done(ctx, nil)
		assert.Equal(t, breaker.HalfOpen, b.State(), "two probes must succeed")
		assert.Equal(t, 1, b.Snapshot().ProbeSuccesses)
	})
}

// The Done of a zero Permit does nothing, nor that of one whose admission
// was refused, which AcquireInto leaves zero.
func TestDoneOfAZeroOrRefusedPermitDoesNothing(t *testing.T) {
	ctx := context.Background()
	b := breaker.New(breaker.WithConsecutiveFailures(1), breaker.WithOpenDuration(time.Hour))
	var zero breaker.Permit
	zero.Done(ctx, errDep)
	assert.Equal(t, breaker.Closed, b.State())
	assert.Zero(t, b.Snapshot().Totals)

	var p breaker.Permit
	require.NoError(t, b.AcquireInto(ctx, &p))
	p.Done(ctx, errDep)
	require.Equal(t, breaker.Open, b.State())
	err := b.AcquireInto(ctx, &p)
	require.ErrorIs(t, err, breaker.ErrOpen)
	p.Done(ctx, nil)
	assert.Equal(t, breaker.Open, b.State())
	assert.Equal(t, [4]int64{0, 1, 0, 1}, b.Snapshot().Totals)
}

// The Done of a permit admitted before the breaker changed state is
// dropped (a late result): from closed state, and from a half-open period
// that another probe ended.
func TestDoneAfterTheStateChangedIsDropped(t *testing.T) {
	ctx := context.Background()
	b := breaker.New(breaker.WithConsecutiveFailures(2))
	var late breaker.Permit
	require.NoError(t, b.AcquireInto(ctx, &late))
	run(b, "FF")
	require.Equal(t, breaker.Open, b.State())
	b.Reset()
	run(b, "F")
	late.Done(ctx, errDep)
	assert.Equal(t, breaker.Closed, b.State(), "the late failure does not complete the new streak")
	assert.Equal(t, 1, b.Snapshot().ConsecutiveFailures)

	synctest.Test(t, func(t *testing.T) {
		var tr transitions
		b := halfOpen(t, 2, breaker.WithObserver(tr.observe))
		var slow, failed breaker.Permit
		require.NoError(t, b.AcquireInto(ctx, &slow))
		require.NoError(t, b.AcquireInto(ctx, &failed))
		failed.Done(ctx, errDep) // reopens
		require.Equal(t, breaker.Open, b.State())
		time.Sleep(time.Second)
		synctest.Wait()
		require.Equal(t, breaker.HalfOpen, b.State())
		slow.Done(ctx, nil) // from the last period
		assert.Equal(t, 0, b.Snapshot().ProbeSuccesses)
		assert.Equal(t, 0, b.Snapshot().ProbesAdmitted)
		time.Sleep(time.Hour)
		synctest.Wait()
		assert.Equal(t, breaker.HalfOpen, b.State(), "no max wait runs for the dropped permit")
		assert.Equal(t, []string{"half_open>open:probe_failed", "open>half_open:open_duration_elapsed"}, tr.list()[2:])
	})
}

// A panic between AcquireInto and Done: in closed state the permit held
// nothing; a half-open probe's slot is held until the max wait reopens
// the breaker, unless the caller reports the panic from a deferred
// function, as Execute does, as a failure.
func TestPanicBetweenAcquireIntoAndDone(t *testing.T) {
	ctx := context.Background()
	call := func(b *breaker.Breaker, deferred bool) {
		defer func() { _ = recover() }()
		var p breaker.Permit
		if b.AcquireInto(ctx, &p) != nil {
			return
		}
		if deferred {
			defer func() {
				if v := recover(); v != nil {
					p.Done(ctx, errDep)
					panic(v)
				}
			}()
		}
		panic("boom")
	}
	b := breaker.New(breaker.WithConsecutiveFailures(1))
	call(b, false)
	assert.Equal(t, breaker.Closed, b.State())
	assert.Zero(t, b.Snapshot().Totals)
	require.NoError(t, b.Execute(ctx, nop))

	synctest.Test(t, func(t *testing.T) {
		var tr transitions
		b := halfOpen(t, 1, breaker.WithObserver(tr.observe))
		call(b, false)
		var p breaker.Permit
		assert.ErrorIs(t, b.AcquireInto(ctx, &p), breaker.ErrOpen, "the lost probe holds the only slot")
		time.Sleep(5*time.Second - time.Nanosecond)
		synctest.Wait()
		assert.Equal(t, breaker.HalfOpen, b.State())
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		assert.Equal(t, breaker.Open, b.State(), "the max wait reclaimed the slot")
		time.Sleep(time.Second)
		synctest.Wait()
		require.NoError(t, b.AcquireInto(ctx, &p), "a fresh period admits a probe")
		p.Done(ctx, nil)
		assert.Equal(t, breaker.Closed, b.State())

		openNow(b)
		time.Sleep(time.Second)
		synctest.Wait()
		call(b, true)
		assert.Equal(t, breaker.Open, b.State(), "the deferred report is a failed probe")
		assert.Equal(t, "half_open>open:probe_failed", tr.list()[len(tr.list())-1])
	})
}
