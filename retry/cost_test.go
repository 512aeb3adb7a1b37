package retry_test

import (
	"context"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/budget"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/stretchr/testify/assert"
)

// With nothing listening (no SDK, no recording span, no observer), a Retry
// allocates nothing but the *ExhaustedError it returns: not on success,
// not for a retry, and not for the events of giving up, which are not even
// built.
func TestARetryAllocatesOnlyItsErrorWhenNothingListens(t *testing.T) {
	ctx := context.Background()
	spent := budget.NewToken(2, 1)
	spent.RecordAttempt(false) // half the tokens: no retry
	var zero retry.Retry
	for name, tc := range map[string]struct {
		p      bulwark.Policy
		fn     func(context.Context) error
		allocs float64
	}{
		"success":                      {retry.New(), testutil.Nop, 0},
		"success, the zero Retry":      {&zero, testutil.Nop, 0},
		"success in a pipeline":        {bulwark.New(retry.New()), testutil.Nop, 0},
		"two failures, then a success": {retry.New(retry.WithDelay(0)), (&flaky{}).call, 0},
		"attempts exhausted":           {retry.New(retry.WithDelay(0)), testutil.Fail, 1},
		"budget spent":                 {retry.New(retry.WithDelay(0), retry.WithBudget(spent)), testutil.Fail, 1},
	} {
		assert.Equal(t, tc.allocs, testing.AllocsPerRun(1000, func() { _ = tc.p.Execute(ctx, tc.fn) }), name)
	}
}
