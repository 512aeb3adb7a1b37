package outcome_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/outcome"
	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type rejection struct{}

func (rejection) Error() string   { return "full" }
func (rejection) Is(t error) bool { return t == bulwark.ErrRejected }

func TestClassify(t *testing.T) {
	boom := errors.New("boom")
	special := errors.New("special")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	live := context.Background()
	isSpecial := func(err error) bool { return errors.Is(err, special) }
	for _, tc := range []struct {
		name  string
		ctx   context.Context
		rules outcome.Rules
		err   error
		want  outcome.Outcome
	}{
		{"nil", live, outcome.Rules{}, nil, outcome.Success},
		{"error", live, outcome.Rules{}, boom, outcome.Failure},
		{"permanent", live, outcome.Rules{}, bulwark.Permanent(boom), outcome.Success},
		{"caller cancel", canceled, outcome.Rules{}, fmt.Errorf("get: %w", context.Canceled), outcome.Ignored},
		{"canceled error on a live ctx", live, outcome.Rules{}, context.Canceled, outcome.Failure},
		{"inner rejection", live, outcome.Rules{}, rejection{}, outcome.Ignored},
		{"inner rejection with hint", live, outcome.Rules{}, bulwark.WithRetryAfter(rejection{}, 5), outcome.Ignored},
		{"rejection beats FailureIf", live, outcome.Rules{FailureIf: func(error) bool { return true }}, rejection{}, outcome.Ignored},
		{"ignoreIf", live, outcome.Rules{IgnoreIf: isSpecial}, special, outcome.Ignored},
		{"ignoreIf beats failureIf", live, outcome.Rules{IgnoreIf: isSpecial, FailureIf: isSpecial}, special, outcome.Ignored},
		{"failureIf accepts", live, outcome.Rules{FailureIf: isSpecial}, special, outcome.Failure},
		{"failureIf declines", live, outcome.Rules{FailureIf: isSpecial}, boom, outcome.Success},
		{"failureIf sees permanent", live, outcome.Rules{FailureIf: isSpecial}, bulwark.Permanent(special), outcome.Failure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.rules.Classify(tc.ctx, tc.err))
		})
	}
}

func TestNilPredicatesAreRejected(t *testing.T) {
	assert.PanicsWithValue(t, "bulwark/breaker: WithFailureIf: predicate must not be nil", func() { outcome.FailureIf("breaker", nil) })
	assert.PanicsWithValue(t, "bulwark/hedge: WithIgnoreIf: predicate must not be nil", func() { outcome.IgnoreIf("hedge", nil) })
}

func TestNoRetryIsAFailureThatStaysReachable(t *testing.T) {
	boom := errors.New("boom")
	err := fmt.Errorf("call: %w", outcome.NoRetry(boom))
	assert.True(t, outcome.IsNoRetry(err))
	assert.True(t, outcome.IsNoRetry(errors.Join(errors.New("other"), err)))
	assert.False(t, outcome.IsNoRetry(boom))
	assert.False(t, outcome.IsNoRetry(nil))
	assert.Nil(t, outcome.NoRetry(nil))
	assert.ErrorIs(t, err, boom)
	assert.Equal(t, "call: boom", err.Error())
	var r outcome.Rules
	assert.Equal(t, outcome.Failure, r.Classify(context.Background(), err), "unlike Permanent, a failure")
	assert.Zero(t, testing.AllocsPerRun(100, func() { outcome.IsNoRetry(err) }))
}
