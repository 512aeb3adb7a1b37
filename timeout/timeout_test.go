package timeout_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/bulwark-go/bulwark/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestFastCallSucceedsWithTheDeadlineInItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		err := timeout.New(time.Second).Execute(context.Background(), func(ctx context.Context) error {
			dl, ok := ctx.Deadline()
			assert.True(t, ok)
			assert.Equal(t, start.Add(time.Second), dl)
			return testutil.SleepCtx(ctx, 999*time.Millisecond)
		})
		assert.NoError(t, err)
	})
}

func TestOwnDeadlineReturnsErrTimeoutAndReportsIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev otest.Events
		tm := timeout.New(100*time.Millisecond, timeout.WithName("db"), timeout.WithObserver(ev.Observe))
		start := time.Now()
		err := tm.Execute(context.Background(), func(ctx context.Context) error { return testutil.SleepCtx(ctx, time.Hour) })

		assert.Equal(t, 100*time.Millisecond, time.Since(start))
		assert.Equal(t, timeout.ErrTimeout, err)
		assert.ErrorIs(t, err, timeout.ErrTimeout)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.NotErrorIs(t, err, bulwark.ErrRejected, "a timeout is the dependency being slow, not a rejection")
		var te interface{ Timeout() bool }
		require.ErrorAs(t, err, &te)
		assert.True(t, te.Timeout())

		assert.Equal(t, []bulwark.Event{{Type: bulwark.EventTimeout, Policy: "timeout", Name: "db",
			Delay: 100 * time.Millisecond, Err: timeout.ErrTimeout}}, ev.List())
	})
}

func TestCallerCancellationComesBackUnchanged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev otest.Events
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(10*time.Millisecond, cancel)
		err := timeout.New(time.Second, timeout.WithObserver(ev.Observe)).Execute(ctx, func(ctx context.Context) error {
			return testutil.SleepCtx(ctx, time.Hour)
		})
		assert.Equal(t, context.Canceled, err)
		assert.Empty(t, ev.List(), "the caller's cancellation is not a timeout")
	})
}

func TestEarlierCallerDeadlineComesBackUnchanged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev otest.Events
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		err := timeout.New(time.Second, timeout.WithObserver(ev.Observe)).Execute(ctx, func(inner context.Context) error {
			assert.Equal(t, ctx, inner, "no context of its own when the caller's deadline comes first")
			return testutil.SleepCtx(inner, time.Hour)
		})
		assert.Equal(t, context.DeadlineExceeded, err)
		assert.NotErrorIs(t, err, timeout.ErrTimeout)
		assert.Empty(t, ev.List())
	})
}

// Under WithAbandon the function runs on a goroutine of its own, under a
// context the Timeout makes even when the caller's deadline comes first:
// its deadline is the caller's, whose error comes back unchanged.
func TestEarlierCallerDeadlineUnderAbandon(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev otest.Events
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		want, _ := ctx.Deadline()
		err := timeout.New(time.Second, timeout.WithAbandon(), timeout.WithObserver(ev.Observe)).Execute(ctx, func(inner context.Context) error {
			assert.NotEqual(t, ctx, inner, "a context of its own")
			got, ok := inner.Deadline()
			assert.True(t, ok)
			assert.Equal(t, want, got, "the caller's deadline")
			return testutil.SleepCtx(inner, time.Hour)
		})
		assert.Equal(t, context.DeadlineExceeded, err)
		assert.Empty(t, ev.List())
		synctest.Wait()
	})
}

func TestOtherErrorAfterDeadlineKeepsBoth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		err := timeout.New(time.Millisecond).Execute(context.Background(), func(ctx context.Context) error {
			<-ctx.Done()
			return testutil.ErrDep
		})
		assert.ErrorIs(t, err, timeout.ErrTimeout)
		assert.ErrorIs(t, err, testutil.ErrDep)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.NotErrorIs(t, err, bulwark.ErrRejected)
		assert.Equal(t, "bulwark/timeout: timed out: dependency failed", err.Error())
	})
}

// An error that wraps the deadline of the Timeout's own context (a
// *url.Error from net/http, say) stays reachable: the Timeout adds ErrTimeout
// to it instead of replacing it.
func TestErrorWrappingOwnDeadlineIsKept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		err := timeout.New(time.Millisecond).Execute(context.Background(), func(ctx context.Context) error {
			<-ctx.Done()
			return &url.Error{Op: "Get", URL: "http://127.0.0.1/", Err: ctx.Err()}
		})
		var ue *url.Error
		require.ErrorAs(t, err, &ue)
		assert.Equal(t, "Get", ue.Op)
		assert.ErrorIs(t, err, timeout.ErrTimeout)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.True(t, ue.Timeout())
		assert.Equal(t, `bulwark/timeout: timed out: Get "http://127.0.0.1/": context deadline exceeded`, err.Error())
	})
}

func TestZeroValueReturnsAnErrorNamingTheType(t *testing.T) {
	var tm timeout.Timeout
	ran := false
	err := tm.Execute(context.Background(), func(context.Context) error { ran = true; return nil })
	require.ErrorIs(t, err, timeout.ErrZeroValue)
	assert.Contains(t, err.Error(), "timeout.Timeout")
	assert.False(t, ran)
	err = bulwark.New(&tm).Execute(context.Background(), func(context.Context) error { ran = true; return nil })
	require.ErrorIs(t, err, timeout.ErrZeroValue)
	assert.False(t, ran)
}

func TestErrorBeforeDeadlineIsNotATimeout(t *testing.T) {
	err := timeout.New(time.Hour).Execute(context.Background(), testutil.Fail)
	assert.Equal(t, testutil.ErrDep, err)
}

// Cooperative enforcement (PEER-DIFFERENCES 20): a function that ignores its
// context keeps the caller waiting, and a late success is a success.
func TestCooperativeByDefault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		err := timeout.New(10*time.Millisecond).Execute(context.Background(), func(context.Context) error {
			time.Sleep(time.Second)
			return nil
		})
		assert.NoError(t, err)
		assert.Equal(t, time.Second, time.Since(start))
	})
}

func TestDurationFunc(t *testing.T) {
	type key struct{}
	synctest.Test(t, func(t *testing.T) {
		tm := timeout.New(time.Second, timeout.WithDurationFunc(func(ctx context.Context) time.Duration {
			d, _ := ctx.Value(key{}).(time.Duration)
			return d
		}))
		for _, tc := range []struct{ given, want time.Duration }{
			{20 * time.Millisecond, 20 * time.Millisecond},
			{0, time.Second},
			{-time.Second, time.Second},
		} {
			start := time.Now()
			err := tm.Execute(context.WithValue(context.Background(), key{}, tc.given), func(ctx context.Context) error {
				return testutil.SleepCtx(ctx, time.Hour)
			})
			assert.ErrorIs(t, err, timeout.ErrTimeout)
			assert.Equal(t, tc.want, time.Since(start), "duration func returned %v", tc.given)
		}
	})
}

func TestPanicPropagatesAndReleasesTheContext(t *testing.T) {
	var inner context.Context
	assert.PanicsWithValue(t, "boom", func() {
		_ = timeout.New(time.Hour).Execute(context.Background(), func(ctx context.Context) error {
			inner = ctx
			panic("boom")
		})
	})
	assert.Equal(t, context.Canceled, inner.Err(), "the timer and context were released")
}

func TestAbandonReturnsAtTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev otest.Events
		finished := make(chan struct{})
		tm := timeout.New(100*time.Millisecond, timeout.WithAbandon(), timeout.WithObserver(ev.Observe))
		start := time.Now()
		err := tm.Execute(context.Background(), func(context.Context) error {
			defer close(finished)
			time.Sleep(time.Hour) // ignores its context
			return nil
		})
		assert.Equal(t, timeout.ErrTimeout, err)
		assert.Equal(t, 100*time.Millisecond, time.Since(start))
		require.Len(t, ev.List(), 1)
		<-finished // the function ran on to its end on its own goroutine
	})
}

func TestAbandonReturnsCallersCancellation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(time.Millisecond, cancel)
		release := make(chan struct{})
		err := timeout.New(time.Hour, timeout.WithAbandon()).Execute(ctx, func(context.Context) error {
			<-release
			return nil
		})
		assert.Equal(t, context.Canceled, err)
		close(release)
		synctest.Wait()
	})
}

func TestAbandonReturnsTheResultWhenInTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tm := timeout.New(time.Second, timeout.WithAbandon())
		assert.NoError(t, tm.Execute(context.Background(), func(context.Context) error { return nil }))
		assert.Equal(t, testutil.ErrDep, tm.Execute(context.Background(), testutil.Fail))
		err := tm.Execute(context.Background(), func(ctx context.Context) error {
			<-ctx.Done()
			return testutil.ErrDep
		})
		assert.ErrorIs(t, err, timeout.ErrTimeout, "a function that stops at the deadline still timed out")
	})
}

func TestAbandonCarriesAPanicToTheWaitingCaller(t *testing.T) {
	type boom struct{ n int }
	assert.PanicsWithValue(t, boom{3}, func() {
		_ = timeout.New(time.Hour, timeout.WithAbandon()).Execute(context.Background(), func(context.Context) error {
			panic(boom{3})
		})
	})
}

func TestAbandonReportsGoexit(t *testing.T) {
	err := timeout.New(time.Hour, timeout.WithAbandon()).Execute(context.Background(), func(context.Context) error {
		runtimeGoexit()
		return nil
	})
	assert.ErrorContains(t, err, "runtime.Goexit")
}

// A panic raised after the caller has gone cannot reach it: like any
// unrecovered panic on a goroutine, it crashes the program. The test runs
// that in a child process.
func TestAbandonedPanicCrashesTheProgram(t *testing.T) {
	if os.Getenv("BULWARK_ABANDONED_PANIC") == "1" {
		release := make(chan struct{})
		err := timeout.New(time.Millisecond, timeout.WithAbandon()).Execute(context.Background(), func(context.Context) error {
			<-release
			panic("late boom")
		})
		if errors.Is(err, timeout.ErrTimeout) {
			close(release)
		}
		time.Sleep(time.Minute) // the panic ends the process first
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAbandonedPanicCrashesTheProgram$")
	cmd.Env = append(os.Environ(), "BULWARK_ABANDONED_PANIC=1")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "output: %s", out)
	assert.Contains(t, string(out), "panic: late boom")
}

func TestExecuteRejectsNilArguments(t *testing.T) {
	tm := timeout.New(time.Second)
	assert.ErrorIs(t, tm.Execute(context.Background(), nil), bulwark.ErrNilFunc)
	//lint:ignore SA1012 a nil context is the point of the test
	assert.ErrorIs(t, tm.Execute(nil, func(context.Context) error { return nil }), bulwark.ErrNilContext)
}

func TestBadConfigurationPanicsWithItsName(t *testing.T) {
	cases := map[string]func(){
		"bulwark/timeout: New: duration must be > 0, got 0s":           func() { timeout.New(0) },
		"bulwark/timeout: New: duration must be > 0, got -1s":          func() { timeout.New(-time.Second) },
		"bulwark/timeout: WithDurationFunc: function must not be nil":  func() { timeout.WithDurationFunc(nil) },
		"bulwark/timeout: WithName: name must not be empty":            func() { timeout.WithName("") },
		"bulwark/timeout: WithMeterProvider: provider must not be nil": func() { timeout.WithMeterProvider(nil) },
		"bulwark/timeout: WithObserver: observer must not be nil":      func() { timeout.WithObserver(nil) },
	}
	for msg, f := range cases {
		assert.PanicsWithValue(t, msg, f)
	}
	assert.Equal(t, time.Second, timeout.New(time.Second, nil).Duration(), "nil options are ignored")
}

func TestInPipelineReportsPipelineName(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev otest.Events
		p := bulwark.New(timeout.New(time.Millisecond)).With(bulwark.WithName("checkout"), bulwark.WithObserver(ev.Observe))
		err := p.Execute(context.Background(), func(ctx context.Context) error { return testutil.SleepCtx(ctx, time.Hour) })
		assert.ErrorIs(t, err, timeout.ErrTimeout)
		require.Len(t, ev.List(), 1)
		assert.Equal(t, "checkout", ev.List()[0].Pipeline)
	})
}

// A Timeout's bytes: most of them are its bulwark.calls registration,
// which an SDK's meter makes larger.
func TestTimeoutIsSmallAndCollected(t *testing.T) {
	testutil.Settle()
	per := otest.HeapPerInstance(2000, func() *timeout.Timeout { return timeout.New(time.Second) })
	sdkMeter := otest.NewMeter()
	testutil.Settle()
	sdk := otest.HeapPerInstance(2000, func() *timeout.Timeout { return timeout.New(time.Second, timeout.WithMeterProvider(sdkMeter)) })
	t.Logf("timeout.Timeout: %.0f bytes per instance; with an SDK meter: %.0f bytes", per, sdk)
	assert.LessOrEqual(t, per, 1024.0)
	assert.LessOrEqual(t, sdk, 1024.0)
	run := func(tm *timeout.Timeout) {
		_ = tm.Execute(context.Background(), func(context.Context) error { return nil })
	}
	assert.True(t, otest.Collected(func() *timeout.Timeout { return timeout.New(time.Second) }, run), "global provider")
	m := otest.NewMeter()
	assert.True(t, otest.Collected(func() *timeout.Timeout {
		return timeout.New(time.Second, timeout.WithMeterProvider(m))
	}, run), "SDK provider")
}
