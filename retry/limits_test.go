package retry_test

import (
	"context"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A wait that cannot fit the time left gives up at once, with the reason,
// whatever its size: the sums of durations saturate instead of wrapping to
// a negative wait that seems to fit.
func TestAWaitTooLongToFitGivesUpAtOnce(t *testing.T) {
	const forever = time.Duration(math.MaxInt64)
	hinted := bulwark.WithRetryAfter(testutil.ErrDep, forever)
	cases := []struct {
		name     string
		opts     []retry.Option
		err      error
		deadline time.Duration // 0: none
		reason   string
	}{
		{"hint, max duration", []retry.Option{retry.WithMaxDuration(50 * time.Millisecond)}, hinted, 0, retry.ReasonRetryAfter},
		{"hint, deadline", nil, hinted, time.Second, retry.ReasonRetryAfter},
		{"hint, both", []retry.Option{retry.WithMaxDuration(50 * time.Millisecond)}, hinted, time.Second, retry.ReasonRetryAfter},
		{"delay, max duration", []retry.Option{retry.WithDelay(forever), retry.WithMaxDuration(50 * time.Millisecond)}, testutil.ErrDep, 0, retry.ReasonMaxDuration},
		{"delay, deadline", []retry.Option{retry.WithDelay(forever)}, testutil.ErrDep, time.Second, retry.ReasonDeadline},
		{"delay func, max duration", []retry.Option{retry.WithDelayFunc(func(int, error) time.Duration { return forever }), retry.WithMaxDuration(50 * time.Millisecond)}, testutil.ErrDep, 0, retry.ReasonMaxDuration},
		{"delay func, deadline", []retry.Option{retry.WithDelayFunc(func(int, error) time.Duration { return forever })}, testutil.ErrDep, time.Second, retry.ReasonDeadline},
		{"linear backoff to the longest duration", []retry.Option{retry.WithLinearBackoff(forever-1, 1, forever), retry.WithMaxDuration(time.Hour)}, testutil.ErrDep, 0, retry.ReasonMaxDuration},
		{"exponential backoff to the longest duration", []retry.Option{retry.WithExponentialBackoff(forever/2, 4, forever), retry.WithMaxDuration(time.Hour)}, testutil.ErrDep, 0, retry.ReasonMaxDuration},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				if tc.deadline > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tc.deadline)
					defer cancel()
				}
				s := &script{failures: 10, err: tc.err, took: time.Millisecond}
				start := time.Now()
				err := retry.New(append(tc.opts, retry.WithMaxAttempts(5))...).Execute(ctx, s.call)
				assert.Equal(t, time.Millisecond, time.Since(start), "no wait")
				assert.Len(t, s.starts, 1)
				reason, attempts := reasonOf(t, err)
				assert.Equal(t, tc.reason, reason)
				assert.Equal(t, 1, attempts)
			})
		})
	}
}

// Without any limit, a long wait is what was asked for: it ends when the
// caller cancels.
func TestALongWaitWithoutALimitEndsWithTheCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(time.Hour, cancel)
		s := &script{failures: 10}
		err := retry.New(retry.WithDelay(time.Duration(math.MaxInt64))).Execute(ctx, s.call)
		assert.Equal(t, context.Canceled, err)
		assert.Len(t, s.starts, 1)
	})
}

// Near the limits, a wait that fits is still taken.
func TestAWaitThatJustFitsIsTaken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{failures: 1, took: 10 * time.Millisecond}
		r := retry.New(retry.WithDelay(30*time.Millisecond), retry.WithMaxDuration(50*time.Millisecond))
		require.NoError(t, r.Execute(context.Background(), s.call))
		assert.Equal(t, []time.Duration{40 * time.Millisecond}, s.gaps())
	})
}
