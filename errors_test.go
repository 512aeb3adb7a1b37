package bulwark_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/core"
	"github.com/stretchr/testify/assert"
)

func TestRetryAfterFindsTheHintAnywhereInTheTree(t *testing.T) {
	hinted := bulwark.WithRetryAfter(errDep, 3*time.Second)
	cases := map[string]struct {
		err  error
		want time.Duration
		ok   bool
	}{
		"nil":                {nil, 0, false},
		"no hint":            {errDep, 0, false},
		"hint":               {hinted, 3 * time.Second, true},
		"wrapped by %w":      {fmt.Errorf("call: %w", hinted), 3 * time.Second, true},
		"inside errors.Join": {errors.Join(errors.New("other"), fmt.Errorf("x: %w", hinted)), 3 * time.Second, true},
		"first hint wins":    {bulwark.WithRetryAfter(hinted, time.Second), time.Second, true},
		"negative is zero":   {bulwark.WithRetryAfter(errDep, -time.Second), 0, true},
		"permanent around":   {bulwark.Permanent(hinted), 3 * time.Second, true},
	}
	for name, tc := range cases {
		d, ok := bulwark.RetryAfter(tc.err)
		assert.Equal(t, tc.ok, ok, name)
		assert.Equal(t, tc.want, d, name)
	}
}

func TestInspectAgreesWithIsPermanentAndRetryAfter(t *testing.T) {
	hinted := bulwark.WithRetryAfter(errDep, 3*time.Second)
	for _, err := range []error{
		nil, errDep, hinted, bulwark.Permanent(errDep), bulwark.Permanent(hinted),
		bulwark.WithRetryAfter(bulwark.Permanent(errDep), time.Second), fmt.Errorf("x: %w", hinted),
		errors.Join(errDep, bulwark.Permanent(errDep)), errors.Join(errDep, fmt.Errorf("y: %w", hinted)),
		fmt.Errorf("z: %w", errors.Join(bulwark.Permanent(hinted))),
	} {
		permanent, d, ok := core.Inspect(err)
		wantD, wantOK := bulwark.RetryAfter(err)
		assert.Equal(t, bulwark.IsPermanent(err), permanent, "%v", err)
		assert.Equal(t, wantD, d, "%v", err)
		assert.Equal(t, wantOK, ok, "%v", err)
	}
}

func TestWithRetryAfterKeepsTheError(t *testing.T) {
	err := bulwark.WithRetryAfter(errDep, time.Second)
	assert.ErrorIs(t, err, errDep)
	assert.Equal(t, errDep.Error(), err.Error())
	assert.NoError(t, bulwark.WithRetryAfter(nil, time.Second))
}

func TestPermanent(t *testing.T) {
	err := bulwark.Permanent(errDep)
	assert.True(t, bulwark.IsPermanent(err))
	assert.True(t, bulwark.IsPermanent(fmt.Errorf("op: %w", err)))
	assert.True(t, bulwark.IsPermanent(errors.Join(errors.New("a"), err)))
	assert.False(t, bulwark.IsPermanent(errDep))
	assert.False(t, bulwark.IsPermanent(nil))
	assert.ErrorIs(t, err, errDep, "the wrapped error stays reachable")
	assert.Equal(t, errDep.Error(), err.Error())
	assert.NoError(t, bulwark.Permanent(nil))
}

func TestCallerCanceled(t *testing.T) {
	live := context.Background()
	canceled, cancel := context.WithCancel(live)
	cancel()
	expired, cancel2 := context.WithDeadline(live, time.Unix(0, 0))
	defer cancel2()
	rejected := fmt.Errorf("wrapped: %w", bulwark.ErrRejected)

	cases := []struct {
		name     string
		ctx      context.Context
		err      error
		canceled bool
	}{
		{"success", live, nil, false},
		{"failure", live, errDep, false},
		{"rejection", live, rejected, false},
		{"cancellation of a live context is the dependency's", live, context.Canceled, false},
		{"caller cancelled", canceled, fmt.Errorf("op: %w", context.Canceled), true},
		{"caller's deadline passed", expired, context.DeadlineExceeded, true},
		{"other error after cancellation", canceled, errDep, false},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.canceled, bulwark.CallerCanceled(tc.ctx, tc.err), tc.name)
	}
}
