package retry_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A rejection without a hint says nothing of when to come back: retrying
// it at once would only be rejected again. It is returned as it is.
func TestARejectionWithoutAHintIsReturnedAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// bulwark.ErrRejected itself too: the failure path tells the
		// errors of errors.New from rejections by their type.
		for _, rejection := range []error{testutil.ErrRejected, bulwark.ErrRejected, errors.Join(bulwark.ErrRejected)} {
			s := &script{failures: 10, err: rejection}
			start := time.Now()
			err := retry.New().Execute(context.Background(), s.call)
			assert.Equal(t, rejection, err)
			assert.Len(t, s.starts, 1, "%v", rejection)
			assert.Zero(t, time.Since(start))
		}
	})
}

// A rejection that says when to come back is retried after its hint.
func TestARejectionWithAHintThatFitsIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{failures: 2, err: bulwark.WithRetryAfter(testutil.ErrRejected, 40*time.Millisecond)}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		require.NoError(t, retry.New(retry.WithMaxDuration(time.Second)).Execute(ctx, s.call))
		assert.Equal(t, []time.Duration{40 * time.Millisecond, 40 * time.Millisecond}, s.gaps())
	})
}

// A hinted rejection that does not fit gives up at once, saying why, and
// the error still matches the rejection.
func TestARejectionWithAHintThatDoesNotFitGivesUpAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hinted := bulwark.WithRetryAfter(testutil.ErrRejected, time.Minute)
		for _, tc := range []struct {
			name   string
			opts   []retry.Option
			reason string
		}{
			{"max duration", []retry.Option{retry.WithMaxDuration(time.Second)}, retry.ReasonRetryAfter},
			{"no attempt left", []retry.Option{retry.WithMaxAttempts(1)}, retry.ReasonMaxAttempts},
		} {
			s := &script{failures: 10, err: hinted}
			start := time.Now()
			err := retry.New(tc.opts...).Execute(context.Background(), s.call)
			assert.Zero(t, time.Since(start), tc.name)
			assert.Len(t, s.starts, 1, tc.name)
			assert.ErrorIs(t, err, bulwark.ErrRejected, tc.name)
			reason, _ := reasonOf(t, err)
			assert.Equal(t, tc.reason, reason, tc.name)
		}
	})
}

// A timeout is the dependency being slow: an ordinary failure, retried.
func TestATimeoutIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := bulwark.New(retry.New(retry.WithDelay(0)), timeout.New(10*time.Millisecond))
		calls := 0
		err := p.Execute(context.Background(), func(ctx context.Context) error {
			calls++
			<-ctx.Done()
			return ctx.Err()
		})
		assert.Equal(t, 3, calls)
		assert.ErrorIs(t, err, retry.ErrExhausted)
		assert.ErrorIs(t, err, timeout.ErrTimeout)
	})
}

// WithRetryIf cannot make an unhinted rejection retried.
func TestRetryIfDoesNotOverrideTheRejectionRule(t *testing.T) {
	s := &script{failures: 10, err: testutil.ErrRejected}
	err := retry.New(retry.WithDelay(0), retry.WithRetryIf(func(error) bool { return true })).Execute(context.Background(), s.call)
	assert.True(t, errors.Is(err, bulwark.ErrRejected))
	assert.Len(t, s.starts, 1)
}
