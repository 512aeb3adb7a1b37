package retry_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The zero Retry is New() with no options: 3 attempts, the default
// backoff.
func TestZeroRetryWorksAsNew(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var r retry.Retry
		s := &script{failures: 10}
		err := r.Execute(context.Background(), s.call)
		reason, attempts := reasonOf(t, err)
		assert.Equal(t, retry.ReasonMaxAttempts, reason)
		assert.Equal(t, 3, attempts)
		g := s.gaps()
		require.Len(t, g, 2)
		assert.Less(t, g[0], 100*time.Millisecond, "the default backoff, full jitter")

		s = &script{failures: 1}
		require.NoError(t, bulwark.New(&r).Execute(context.Background(), s.call), "in a pipeline too")
		assert.Len(t, s.starts, 2)
	})
}
