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
	// errOverloaded is an overloaded dependency's answer with its hint.
	errOverloaded = bulwark.WithRetryAfter(errors.New("503 overloaded"), time.Second)
)

// outcomes are the calls every learner is driven with, by the outcome the
// table in the bulwark package doc gives them. Each run checks that the
// policy returned the call's own result.
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
}

func TestOutcomeOptionsAreChecked(t *testing.T) {
	assert.PanicsWithValue(t, "bulwark/bulkhead: WithFailureIf: predicate must not be nil", func() { bulkhead.WithFailureIf(nil) })
	assert.PanicsWithValue(t, "bulwark/bulkhead: WithIgnoreIf: predicate must not be nil", func() { bulkhead.WithIgnoreIf(nil) })
}
