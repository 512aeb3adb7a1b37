package bulwarkgrpc_test

import (
	"context"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/middleware/bulwarkgrpc"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// cancelOnRetry is a retry that waits an hour, whose observer cancels the
// call the moment the wait is scheduled: a cancellation while the policy
// waits between attempts.
func cancelOnRetry(cancel context.CancelFunc) *retry.Retry {
	return retry.New(retry.WithMaxAttempts(3), retry.WithDelay(time.Hour),
		retry.WithObserver(func(_ context.Context, ev bulwark.Event) {
			if ev.Type == bulwark.EventRetry {
				cancel()
			}
		}))
}

func TestCancelledBeforeTheCall(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	t.Run("unary", func(t *testing.T) {
		bh := bulkhead.New(1)
		e := clientEnv(t, bh)
		_, err := check(ctx, e, "svc")
		assert.Equal(t, codes.Canceled, status.Code(err))
		assert.Zero(t, bh.Snapshot().InFlight)
	})
	t.Run("hosted stream", func(t *testing.T) {
		bh := bulkhead.New(1)
		e := clientEnv(t, bh)
		s, err := watch(ctx, e, "svc")
		if err == nil {
			_, err = s.Recv()
		}
		assert.Equal(t, codes.Canceled, status.Code(err))
		assert.Zero(t, bh.Snapshot().InFlight)
	})
	t.Run("breaker stream", func(t *testing.T) {
		b := breaker.New(breaker.WithConsecutiveFailures(1))
		e := clientEnv(t, b)
		s, err := watch(ctx, e, "svc")
		if err == nil {
			_, err = s.Recv()
		}
		assert.Equal(t, codes.Canceled, status.Code(err))
		assert.Equal(t, breaker.Closed, b.State())
	})
}

func TestCancelledWhileWaitingToRetry(t *testing.T) {
	t.Run("unary", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		bh := bulkhead.New(1)
		b := breaker.New(breaker.WithConsecutiveFailures(2), breaker.WithFailureIf(bulwarkgrpc.IsFailure))
		e := clientEnv(t, bulwark.New(cancelOnRetry(cancel), b, bh), bulwarkgrpc.WithIdempotent(checkMethod))
		e.faults.add(checkMethod, fault{code: codes.Unavailable})
		_, err := check(ctx, e, "svc")
		assert.Equal(t, codes.Canceled, status.Code(err))
		assert.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, 1, e.faults.count(checkMethod))
		assert.Zero(t, bh.Snapshot().InFlight)
		assert.Equal(t, breaker.Closed, b.State())
	})
	t.Run("stream, at its opening", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		bh := bulkhead.New(1)
		e := clientEnv(t, bulwark.New(bh, cancelOnRetry(cancel)), bulwarkgrpc.WithIdempotent(watchMethod))
		e.faults.add(watchMethod, fault{code: codes.Unavailable})
		s, err := watch(ctx, e, "svc")
		require.NoError(t, err)
		_, err = s.Recv() // the first attempt fails here; the retry waits; the caller cancels
		assert.Equal(t, codes.Canceled, status.Code(err))
		assert.Zero(t, bh.Snapshot().InFlight, "the permit is back when the caller sees the end")
		_, err = s.Recv()
		assert.Equal(t, codes.Canceled, status.Code(err))
		assert.Equal(t, 1, e.faults.count(watchMethod))
	})
}

func TestCancelledBetweenMessages(t *testing.T) {
	for name, p := range map[string]func() (bulwark.Policy, func() int){
		"hosted": func() (bulwark.Policy, func() int) {
			bh := bulkhead.New(1)
			return bh, func() int { return bh.Snapshot().InFlight }
		},
		"breaker": func() (bulwark.Policy, func() int) {
			b := breaker.New(breaker.WithConsecutiveFailures(1))
			return b, func() int { return int(b.Snapshot().Totals[0] + b.Snapshot().Totals[1]) }
		},
	} {
		t.Run(name, func(t *testing.T) {
			policy, held := p()
			e := clientEnv(t, policy)
			ctx, cancel := context.WithCancel(t.Context())
			s, err := watch(ctx, e, "svc")
			require.NoError(t, err)
			recvStatus(t, s)
			cancel()
			_, err = s.Recv()
			assert.Equal(t, codes.Canceled, status.Code(err))
			assert.Zero(t, held(), "no permit held, no success or failure counted")
		})
	}
}
