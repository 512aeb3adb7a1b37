package throttle_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/throttle"
	"github.com/bulwark-go/bulwark/timeout"
	"github.com/stretchr/testify/assert"
)

var (
	errNotFound   = bulwark.Permanent(errors.New("404 not found"))
	errInnerOpen  = fmt.Errorf("breaker: %w", bulwark.ErrRejected) // a local rejection from inside
	errInnerHint  = bulwark.WithRetryAfter(errInnerOpen, time.Second)
	errBadRequest = errors.New("400 bad request")
)

type class uint8

const (
	accepted class = iota
	notAccepted
	notCounted
)

// outcomes are the calls the throttler is driven with, by what the
// outcome table in the bulwark package doc makes of them. Each run checks
// that the caller got the call's own result, unless the throttler
// rejected it itself.
var outcomes = []struct {
	name string
	run  func(t *testing.T, p bulwark.Policy)
	want class
}{
	{"success", returning(nil), accepted},
	{"failure", returning(errDep), notAccepted},
	{"overloaded 503 with a hint", returning(errOverloaded), notAccepted},
	{"permanent", returning(errNotFound), accepted},
	{"inner rejection", returning(errInnerOpen), notCounted},
	{"inner rejection with a hint", returning(errInnerHint), notCounted},
	{"timeout", func(t *testing.T, p bulwark.Policy) {
		err := bulwark.New(p, timeout.New(time.Nanosecond)).Execute(context.Background(), func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		})
		ownResult(t, err, timeout.ErrTimeout)
	}, notAccepted},
	{"caller cancel", func(t *testing.T, p bulwark.Policy) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		ownResult(t, p.Execute(ctx, func(ctx context.Context) error { return ctx.Err() }), context.Canceled)
	}, notCounted},
	{"panic", func(t *testing.T, p bulwark.Policy) {
		assert.PanicsWithValue(t, "boom", func() {
			_ = p.Execute(context.Background(), func(context.Context) error { panic("boom") })
		}, "the panic goes on unchanged")
	}, notCounted},
}

func returning(e error) func(t *testing.T, p bulwark.Policy) {
	return func(t *testing.T, p bulwark.Policy) {
		ownResult(t, p.Execute(context.Background(), func(context.Context) error { return e }), e)
	}
}

func ownResult(t *testing.T, got, want error) {
	t.Helper()
	if got != nil && errors.Is(got, throttle.ErrThrottled) {
		return
	}
	if want == nil {
		assert.NoError(t, got)
		return
	}
	assert.ErrorIs(t, got, want)
}

// 20 calls of a kind in one bucket: requests not accepted give
// (20 − 0)/(20 + 1), capped; accepts give 0; calls not counted leave the
// window empty, so that one failure then gives exactly (1 − 0)/(1 + 1).
func TestThrottlerClassifiesByTheOutcomeTable(t *testing.T) {
	for _, tc := range outcomes {
		t.Run(tc.name, func(t *testing.T) {
			th := throttle.New(throttle.WithWindow(time.Hour), throttle.WithMaxRejection(0.99))
			for range 20 {
				tc.run(t, th)
			}
			switch tc.want {
			case accepted, notCounted:
				assert.Zero(t, th.Probability())
			case notAccepted:
				assert.Greater(t, th.Probability(), 0.5)
			}
			if tc.want == notCounted {
				_ = th.Execute(context.Background(), func(context.Context) error { return errDep })
				assert.InDelta(t, 0.5, th.Probability(), 1e-9, "not even counted as requests")
			}
		})
	}
}

func TestThrottlerRePanicsUnchanged(t *testing.T) {
	th := throttle.New()
	type custom struct{ n int }
	assert.PanicsWithValue(t, custom{7}, func() {
		_ = th.Execute(context.Background(), func(context.Context) error { panic(custom{7}) })
	})
	assert.Zero(t, th.Probability(), "a panic is not counted")
}

// WithIgnoreIf takes an error out of the count and WithFailureIf decides
// the rest.
func TestWithFailureIfAndWithIgnoreIf(t *testing.T) {
	only503 := throttle.WithFailureIf(func(err error) bool { return errors.Is(err, errOverloaded) })
	ignore400 := throttle.WithIgnoreIf(func(err error) bool { return errors.Is(err, errBadRequest) })
	for _, tc := range []struct {
		err      error
		rejected bool
	}{{errDep, false}, {errBadRequest, false}, {errOverloaded, true}, {errInnerOpen, false}} {
		th := throttle.New(only503, ignore400)
		for range 20 {
			_ = th.Execute(context.Background(), func(context.Context) error { return tc.err })
		}
		assert.Equal(t, tc.rejected, th.Probability() > 0, "%v", tc.err)
	}
	// errBadRequest is not even a request: after 20 of them, one 503
	// gives (1 − 0)/(1 + 1).
	th := throttle.New(only503, ignore400, throttle.WithMaxRejection(0.99))
	for range 20 {
		_ = th.Execute(context.Background(), func(context.Context) error { return errBadRequest })
	}
	_ = th.Execute(context.Background(), overloaded)
	assert.InDelta(t, 0.5, th.Probability(), 1e-9)
}
