package fallback_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/fallback"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/bulwark-go/bulwark/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var errFallback = errors.New("fallback failed too")

type recorder struct {
	calls  int
	got    error
	result error
}

func (r *recorder) fn(_ context.Context, err error) error {
	r.calls++
	r.got = err
	return r.result
}

func TestSuccessDoesNotRunTheFallback(t *testing.T) {
	var r recorder
	err := fallback.New(r.fn).Execute(context.Background(), func(context.Context) error { return nil })
	assert.NoError(t, err)
	assert.Zero(t, r.calls)
}

func TestFailureRunsTheFallbackAndReturnsItsOutcome(t *testing.T) {
	for _, result := range []error{nil, errFallback} {
		r := recorder{result: result}
		var seen []bulwark.Event
		f := fallback.New(r.fn, fallback.WithName("cache"), fallback.WithObserver(func(_ context.Context, e bulwark.Event) {
			seen = append(seen, e)
		}))
		err := f.Execute(context.Background(), testutil.Fail)
		assert.Equal(t, result, err)
		assert.Equal(t, 1, r.calls)
		assert.Equal(t, testutil.ErrDep, r.got)
		assert.Equal(t, []bulwark.Event{{Type: bulwark.EventFallback, Policy: "fallback", Name: "cache", Err: testutil.ErrDep}}, seen)
	}
}

func TestRejectionsOfInnerPoliciesAreHandled(t *testing.T) {
	var r recorder
	p := bulwark.New(fallback.New(r.fn), timeout.New(time.Nanosecond))
	err := p.Execute(context.Background(), func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	})
	assert.NoError(t, err)
	assert.ErrorIs(t, r.got, timeout.ErrTimeout)
}

func TestHandleIfNarrowsTheErrors(t *testing.T) {
	var r recorder
	f := fallback.New(r.fn, fallback.WithHandleIf(func(err error) bool { return errors.Is(err, bulwark.ErrRejected) }))
	err := f.Execute(context.Background(), testutil.Fail)
	assert.Equal(t, testutil.ErrDep, err)
	assert.Zero(t, r.calls)

	rejected := fmt.Errorf("full: %w", bulwark.ErrRejected)
	assert.NoError(t, f.Execute(context.Background(), func(context.Context) error { return rejected }))
	assert.Equal(t, 1, r.calls)
}

func TestCallerCancellationIsNeverHandled(t *testing.T) {
	var r recorder
	f := fallback.New(r.fn, fallback.WithHandleIf(func(error) bool { return true }))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := f.Execute(ctx, func(ctx context.Context) error { return ctx.Err() })
	assert.Equal(t, context.Canceled, err)
	assert.Zero(t, r.calls)

	// A cancellation that is not the caller's is the dependency's failure.
	err = f.Execute(context.Background(), func(context.Context) error { return context.Canceled })
	assert.NoError(t, err)
	assert.Equal(t, 1, r.calls)
}

func TestPanicPropagatesUnchangedByDefault(t *testing.T) {
	var r recorder
	assert.PanicsWithValue(t, "boom", func() {
		_ = fallback.New(r.fn).Execute(context.Background(), func(context.Context) error { panic("boom") })
	})
	assert.Zero(t, r.calls)
}

func TestRecoverHandsThePanicToTheFallback(t *testing.T) {
	r := recorder{}
	f := fallback.New(r.fn, fallback.WithRecover(),
		fallback.WithHandleIf(func(error) bool { return false })) // panics are handled whatever the predicate says
	err := f.Execute(context.Background(), func(context.Context) error { panic(testutil.ErrDep) })
	assert.NoError(t, err)
	require.Equal(t, 1, r.calls)
	var pe *fallback.PanicError
	require.ErrorAs(t, r.got, &pe)
	assert.Equal(t, testutil.ErrDep, pe.Value)
	assert.Contains(t, string(pe.Stack), "fallback_test.go")
	assert.ErrorIs(t, r.got, testutil.ErrDep, "an error panic value is reachable")
	assert.Equal(t, "bulwark/fallback: panic: dependency failed", pe.Error())

	// Ordinary errors still go through the predicate.
	assert.Equal(t, testutil.ErrDep, f.Execute(context.Background(), testutil.Fail))
	assert.NoError(t, f.Execute(context.Background(), func(context.Context) error { return nil }))
	assert.Equal(t, 1, r.calls)
}

func TestPanicInTheFallbackPropagates(t *testing.T) {
	f := fallback.New(func(context.Context, error) error { panic("fallback boom") }, fallback.WithRecover())
	assert.PanicsWithValue(t, "fallback boom", func() {
		_ = f.Execute(context.Background(), testutil.Fail)
	})
}

func TestExecuteRejectsNilArguments(t *testing.T) {
	f := fallback.New(func(context.Context, error) error { return nil })
	assert.ErrorIs(t, f.Execute(context.Background(), nil), bulwark.ErrNilFunc)
	//lint:ignore SA1012 a nil context is the point of the test
	assert.ErrorIs(t, f.Execute(nil, func(context.Context) error { return nil }), bulwark.ErrNilContext)
}

func TestBadConfigurationPanicsWithItsName(t *testing.T) {
	cases := map[string]func(){
		"bulwark/fallback: New: fallback function must not be nil":      func() { fallback.New(nil) },
		"bulwark/fallback: WithHandleIf: predicate must not be nil":     func() { fallback.WithHandleIf(nil) },
		"bulwark/fallback: WithName: name must not be empty":            func() { fallback.WithName("") },
		"bulwark/fallback: WithMeterProvider: provider must not be nil": func() { fallback.WithMeterProvider(nil) },
		"bulwark/fallback: WithObserver: observer must not be nil":      func() { fallback.WithObserver(nil) },
	}
	for msg, f := range cases {
		assert.PanicsWithValue(t, msg, f)
	}
	assert.NotNil(t, fallback.New(func(context.Context, error) error { return nil }, nil), "nil options are ignored")
}

func TestZeroValuePassesOutcomesThrough(t *testing.T) {
	var f fallback.Fallback
	assert.NoError(t, f.Execute(context.Background(), func(context.Context) error { return nil }))
	assert.ErrorIs(t, f.Execute(context.Background(), testutil.Fail), testutil.ErrDep)
	assert.ErrorIs(t, bulwark.New(&f).Execute(context.Background(), testutil.Fail), testutil.ErrDep)
	assert.PanicsWithValue(t, "boom", func() {
		_ = f.Execute(context.Background(), func(context.Context) error { panic("boom") })
	})
}

// A Fallback's bytes, at GOMAXPROCS 2: most of them are its bulwark.calls
// registration, which an SDK's meter makes larger; its striped count is
// allocated when it first falls back.
func TestFallbackIsSmallAndCollected(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	build := func() *fallback.Fallback {
		return fallback.New(func(context.Context, error) error { return nil })
	}
	testutil.Settle()
	per := otest.HeapPerInstance(2000, build)
	testutil.Settle()
	fell := otest.HeapPerInstance(2000, func() *fallback.Fallback {
		f := build()
		_ = f.Execute(context.Background(), testutil.Fail)
		return f
	})
	sdkMeter := otest.NewMeter()
	testutil.Settle()
	sdk := otest.HeapPerInstance(2000, func() *fallback.Fallback {
		return fallback.New(func(context.Context, error) error { return nil }, fallback.WithMeterProvider(sdkMeter))
	})
	t.Logf("fallback.Fallback: %.0f bytes per instance; once it has fallen back (its count): %.0f bytes; with an SDK meter: %.0f bytes", per, fell, sdk)
	assert.LessOrEqual(t, per, 1024.0)
	assert.LessOrEqual(t, fell, 1408.0)
	assert.LessOrEqual(t, sdk, 1024.0)
	fail := func(f *fallback.Fallback) {
		_ = f.Execute(context.Background(), testutil.Fail)
	}
	assert.True(t, otest.Collected(build, fail), "global provider")
	m := otest.NewMeter()
	assert.True(t, otest.Collected(func() *fallback.Fallback {
		return fallback.New(func(context.Context, error) error { return nil }, fallback.WithMeterProvider(m))
	}, fail), "SDK provider")
}
