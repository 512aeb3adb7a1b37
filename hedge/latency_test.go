package hedge_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/hedge"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/stretchr/testify/assert"
)

// The latency tracker learns from the attempts whose outcome is a success
// under the shared rule: a Permanent answer is one; ignored outcomes and
// failures are never recorded.
func TestLatencyTrackerFollowsTheOutcomeRule(t *testing.T) {
	errNotFound := errors.New("404")
	errSkip := errors.New("skip")
	cases := []struct {
		name string
		opts []hedge.Option
		err  error
		want time.Duration // the delay after 8 calls of 30ms
	}{
		{"success", nil, nil, 30 * time.Millisecond},
		{"permanent", nil, bulwark.Permanent(errNotFound), 30 * time.Millisecond},
		{"failure", nil, testutil.ErrDep, time.Millisecond},
		{"failure declined by FailureIf", []hedge.Option{hedge.WithFailureIf(func(err error) bool { return !errors.Is(err, errNotFound) })}, errNotFound, 30 * time.Millisecond},
		{"ignored", []hedge.Option{hedge.WithIgnoreIf(func(err error) bool { return errors.Is(err, errSkip) })}, bulwark.Permanent(errSkip), time.Millisecond},
		{"rejection", nil, bulwark.Permanent(testutil.ErrRejected), time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := hedge.New(append(tc.opts, hedge.WithLatencyQuantile(0.5, 8, time.Millisecond), hedge.WithMaxHedges(1))...)
				for range 8 {
					// a hedge fires after 1ms at first; it waits like the
					// primary and loses, so only the primary's answer counts
					_ = h.Execute(context.Background(), func(ctx context.Context) error {
						time.Sleep(30 * time.Millisecond)
						return tc.err
					})
				}
				assert.Equal(t, tc.want, h.Delay())
			})
		})
	}
}

func TestOutcomeOptionsRejectNil(t *testing.T) {
	assert.PanicsWithValue(t, "bulwark/hedge: WithFailureIf: predicate must not be nil", func() { hedge.WithFailureIf(nil) })
	assert.PanicsWithValue(t, "bulwark/hedge: WithIgnoreIf: predicate must not be nil", func() { hedge.WithIgnoreIf(nil) })
}
