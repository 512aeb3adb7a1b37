package bulwark

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// classify gives the bulwark.outcome of a pipeline call's duration.
func TestClassify(t *testing.T) {
	live := context.Background()
	canceled, cancel := context.WithCancel(live)
	cancel()
	expired, cancel2 := context.WithDeadline(live, time.Unix(0, 0))
	defer cancel2()
	errDep := errors.New("dependency failed")
	for _, tc := range []struct {
		name string
		ctx  context.Context
		err  error
		want outcome
	}{
		{"success", live, nil, outcomeSuccess},
		{"failure", live, errDep, outcomeFailure},
		{"rejection", live, fmt.Errorf("wrapped: %w", ErrRejected), outcomeRejected},
		{"cancellation of a live context is the dependency's", live, context.Canceled, outcomeFailure},
		{"caller cancelled", canceled, fmt.Errorf("op: %w", context.Canceled), outcomeIgnored},
		{"caller's deadline passed", expired, context.DeadlineExceeded, outcomeIgnored},
		{"other error after cancellation", canceled, errDep, outcomeFailure},
	} {
		assert.Equal(t, tc.want, classify(tc.ctx, tc.err), tc.name)
	}
}
