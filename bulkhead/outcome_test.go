package bulkhead_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/internal/outcome"
	"github.com/bulwark-go/bulwark/timeout"
	"github.com/stretchr/testify/assert"
)

var (
	errNotFound  = bulwark.Permanent(errors.New("404 not found"))
	errInnerOpen = fmt.Errorf("breaker: %w", bulwark.ErrRejected) // a local rejection from inside
	errInnerHint = bulwark.WithRetryAfter(errInnerOpen, time.Second)
)

// outcomes are the calls every learner is driven with, by the outcome the
// table in the bulwark package doc gives them. Each run checks that the
// policy returned the call's own result (or rejected it itself, with
// ErrThrottled).
var outcomes = []struct {
	name string
	run  func(t *testing.T, p bulwark.Policy)
	want outcome.Outcome
}{
	{"success", returning(nil), outcome.Success},
	{"failure", returning(errDep), outcome.Failure},
	{"overloaded 503 with a hint", returning(errOverloaded), outcome.Failure},
	{"permanent", returning(errNotFound), outcome.Success},
	{"inner rejection", returning(errInnerOpen), outcome.Ignored},
	{"inner rejection with a hint", returning(errInnerHint), outcome.Ignored},
	{"timeout", func(t *testing.T, p bulwark.Policy) {
		err := bulwark.New(p, timeout.New(time.Nanosecond)).Execute(context.Background(), func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		})
		ownResult(t, err, timeout.ErrTimeout)
	}, outcome.Failure},
	{"caller cancel", func(t *testing.T, p bulwark.Policy) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		ownResult(t, p.Execute(ctx, func(ctx context.Context) error { return ctx.Err() }), context.Canceled)
	}, outcome.Ignored},
	{"panic", func(t *testing.T, p bulwark.Policy) {
		assert.PanicsWithValue(t, "boom", func() {
			_ = p.Execute(context.Background(), func(context.Context) error { panic("boom") })
		}, "the panic goes on unchanged")
	}, outcome.Ignored},
}

func returning(e error) func(t *testing.T, p bulwark.Policy) {
	return func(t *testing.T, p bulwark.Policy) {
		ownResult(t, p.Execute(context.Background(), func(context.Context) error { return e }), e)
	}
}

func ownResult(t *testing.T, got, want error) {
	t.Helper()
	if got != nil && errors.Is(got, bulkhead.ErrThrottled) {
		return
	}
	if want == nil {
		assert.NoError(t, got)
		return
	}
	assert.ErrorIs(t, got, want)
}

// Under AIMD(0.5), a window with one failure halves the limit and one of
// successes keeps it (4 in flight at most 1: not in use enough to grow);
// ignored calls are no samples, so a window of them changes nothing.
func TestAdaptiveClassifiesByTheOutcomeTable(t *testing.T) {
	for _, tc := range outcomes {
		t.Run(tc.name, func(t *testing.T) {
			a := bulkhead.NewAdaptive(bulkhead.AIMD(0.5, time.Hour), bulkhead.WithInitialLimit(4),
				bulkhead.WithSampleWindow(time.Nanosecond))
			for range 10 { // one window's worth of samples
				tc.run(t, a)
			}
			want := map[outcome.Outcome]int{outcome.Success: 4, outcome.Failure: 2, outcome.Ignored: 4}[tc.want]
			assert.Equal(t, want, a.Limit())
			assert.Zero(t, a.Snapshot().InFlight, "the permit came back")
			if tc.want == outcome.Ignored {
				// Only samples close a window: one more failure window
				// now halves the limit, so the ignored calls left no
				// partial window behind either.
				for range 10 {
					_ = a.Execute(context.Background(), func(context.Context) error { return errDep })
				}
				assert.Equal(t, 2, a.Limit())
			}
		})
	}
}

func TestAdaptiveRePanicsUnchanged(t *testing.T) {
	a := bulkhead.NewAdaptive(bulkhead.Vegas())
	type custom struct{ n int }
	assert.PanicsWithValue(t, custom{7}, func() {
		_ = a.Execute(context.Background(), func(context.Context) error { panic(custom{7}) })
	})
	assert.Zero(t, a.Snapshot().InFlight)
}

// The throttler's table: a success is a request and an accept, a failure a
// request without an accept, an ignored call neither. 20 calls of a kind
// in one bucket: a failure gives (20 − 0)/(20 + 1), capped at 0.9; a
// success gives 0; ignored calls leave the window empty.
func TestThrottlerClassifiesByTheOutcomeTable(t *testing.T) {
	for _, tc := range outcomes {
		t.Run(tc.name, func(t *testing.T) {
			th := bulkhead.NewThrottler(bulkhead.WithWindow(time.Hour), bulkhead.WithMaxRejection(0.99))
			for range 20 {
				tc.run(t, th)
			}
			switch tc.want {
			case outcome.Success, outcome.Ignored:
				assert.Zero(t, th.Probability())
			case outcome.Failure:
				assert.Greater(t, th.Probability(), 0.5)
			}
			if tc.want == outcome.Ignored {
				// Not even counted as requests: one failure now gives
				// exactly (1 − 0)/(1 + 1).
				_ = th.Execute(context.Background(), func(context.Context) error { return errDep })
				assert.InDelta(t, 0.5, th.Probability(), 1e-9)
			}
		})
	}
}

func TestThrottlerRePanicsUnchanged(t *testing.T) {
	th := bulkhead.NewThrottler()
	type custom struct{ n int }
	assert.PanicsWithValue(t, custom{7}, func() {
		_ = th.Execute(context.Background(), func(context.Context) error { panic(custom{7}) })
	})
}

var errBadRequest = errors.New("400 bad request")

// WithIgnoreIf takes an error out of the count and WithFailureIf decides
// the rest, with the same meaning for both learners.
func TestLearnersTakeWithFailureIfAndWithIgnoreIf(t *testing.T) {
	only503 := bulkhead.WithFailureIf(func(err error) bool { return errors.Is(err, errOverloaded) })
	ignore400 := bulkhead.WithIgnoreIf(func(err error) bool { return errors.Is(err, errBadRequest) })
	fail := func(e error) func(context.Context) error { return func(context.Context) error { return e } }

	t.Run("adaptive", func(t *testing.T) {
		newA := func() *bulkhead.Adaptive {
			return bulkhead.NewAdaptive(bulkhead.AIMD(0.5, time.Hour), bulkhead.WithInitialLimit(4),
				bulkhead.WithSampleWindow(time.Nanosecond), only503, ignore400)
		}
		for _, tc := range []struct {
			err  error
			want int
		}{{errDep, 4}, {errBadRequest, 4}, {errOverloaded, 2}, {errInnerOpen, 4}} {
			a := newA()
			for range 10 {
				_ = a.Execute(context.Background(), fail(tc.err))
			}
			assert.Equal(t, tc.want, a.Limit(), "%v", tc.err)
		}
		// errBadRequest is no sample: a window of them and 9 failures
		// is not yet a window.
		a := newA()
		for range 10 {
			_ = a.Execute(context.Background(), fail(errBadRequest))
		}
		for range 9 {
			_ = a.Execute(context.Background(), fail(errOverloaded))
		}
		assert.Equal(t, 4, a.Limit())
	})
	t.Run("throttler", func(t *testing.T) {
		for _, tc := range []struct {
			err      error
			rejected bool
		}{{errDep, false}, {errBadRequest, false}, {errOverloaded, true}, {errInnerOpen, false}} {
			th := bulkhead.NewThrottler(only503, ignore400)
			for range 20 {
				_ = th.Execute(context.Background(), fail(tc.err))
			}
			assert.Equal(t, tc.rejected, th.Probability() > 0, "%v", tc.err)
		}
	})
}

func TestOutcomeOptionsAreCheckedAndApplyToLearnersOnly(t *testing.T) {
	assert.PanicsWithValue(t, "bulwark/bulkhead: WithFailureIf: predicate must not be nil", func() { bulkhead.WithFailureIf(nil) })
	assert.PanicsWithValue(t, "bulwark/bulkhead: WithIgnoreIf: predicate must not be nil", func() { bulkhead.WithIgnoreIf(nil) })
	for _, o := range []bulkhead.Option{
		bulkhead.WithFailureIf(func(error) bool { return true }),
		bulkhead.WithIgnoreIf(func(error) bool { return true }),
	} {
		assert.PanicsWithValue(t, "bulwark/bulkhead: New: adaptive and throttler options apply to NewAdaptive and NewThrottler only",
			func() { bulkhead.New(1, o) }, "a fixed bulkhead learns nothing")
		assert.NotPanics(t, func() { bulkhead.NewAdaptive(bulkhead.Vegas(), o) })
		assert.NotPanics(t, func() { bulkhead.NewThrottler(o) })
	}
}
