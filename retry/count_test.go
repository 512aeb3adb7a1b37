package retry_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Retries counts the attempts made after the first: a retry whose wait is
// cut short by the caller's cancellation makes no attempt, and is not
// counted.
func TestRetriesCountTheAttemptsMade(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := retry.New(retry.WithDelay(time.Second), retry.WithMaxAttempts(3))
		ctx, cancel := context.WithCancel(t.Context())
		attempts := 0
		go func() {
			time.Sleep(500 * time.Millisecond) // during the first wait
			cancel()
		}()
		err := r.Execute(ctx, func(context.Context) error { attempts++; return testutil.ErrDep })
		require.True(t, errors.Is(err, context.Canceled), "%v", err)
		assert.Equal(t, 1, attempts)
		assert.Zero(t, r.Snapshot().Retries, "no attempt was made after the first")
		assert.Zero(t, r.Status().Retries)
	})
}
