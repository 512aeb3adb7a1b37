package bulwarkgrpc_test

import (
	"context"
	"io"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/hedge"
	"github.com/bulwark-go/bulwark/middleware/bulwarkgrpc"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

func watch(ctx context.Context, e *env, service string, opts ...grpc.CallOption) (grpc.ServerStreamingClient[healthpb.HealthCheckResponse], error) {
	return e.client.Watch(ctx, &healthpb.HealthCheckRequest{Service: service}, opts...)
}

func recvStatus(t *testing.T, s grpc.ServerStreamingClient[healthpb.HealthCheckResponse]) healthpb.HealthCheckResponse_ServingStatus {
	t.Helper()
	m, err := s.Recv()
	require.NoError(t, err)
	return m.GetStatus()
}

// hostedPolicy is a pipeline, so the stream interceptor runs it on a
// goroutine of the stream's; the bulkhead tells whether its permit is back.
func hostedPolicy(maxAttempts int) (bulwark.Policy, *bulkhead.Bulkhead) {
	bh := bulkhead.New(8)
	return bulwark.New(retry.New(retry.WithMaxAttempts(maxAttempts), retry.WithDelay(0)), bh), bh
}

func TestStreamRetriedBeforeTheFirstMessage(t *testing.T) {
	p, bh := hostedPolicy(3)
	e := clientEnv(t, p, bulwarkgrpc.WithIdempotent(watchMethod))
	e.health.SetServingStatus("down", healthpb.HealthCheckResponse_NOT_SERVING)
	e.faults.add(watchMethod, fault{code: codes.Unavailable}, fault{code: codes.ResourceExhausted, pushback: []string{"0"}})

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s, err := watch(ctx, e, "down")
	require.NoError(t, err)
	// NOT_SERVING, not SERVICE_UNKNOWN: the third attempt was sent the
	// caller's request again.
	assert.Equal(t, healthpb.HealthCheckResponse_NOT_SERVING, recvStatus(t, s))
	assert.Equal(t, 3, e.faults.count(watchMethod))
	assert.Equal(t, 1, bh.Snapshot().InFlight, "one permit for the whole stream, every attempt included")

	e.health.SetServingStatus("down", healthpb.HealthCheckResponse_SERVING)
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, recvStatus(t, s))
	cancel()
	_, err = s.Recv()
	assert.Equal(t, codes.Canceled, status.Code(err))
	assert.Zero(t, bh.Snapshot().InFlight)
}

func TestStreamNotRetriedAfterTheFirstMessage(t *testing.T) {
	p, bh := hostedPolicy(3)
	e := clientEnv(t, p, bulwarkgrpc.WithIdempotent(watchMethod))
	e.faults.add(watchMethod, fault{code: codes.Unavailable, msg: "cut", afterMessages: 1})

	s, err := watch(t.Context(), e, "svc")
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, recvStatus(t, s))
	_, err = s.Recv()
	st, _ := status.FromError(err)
	assert.Equal(t, codes.Unavailable, st.Code())
	assert.Equal(t, "cut", st.Message())
	assert.Equal(t, 1, e.faults.count(watchMethod))
	assert.Zero(t, bh.Snapshot().InFlight, "the permit is back when the caller sees the end")
	_, err = s.Recv()
	assert.Equal(t, codes.Unavailable, status.Code(err), "the end stays the end")
}

func TestStreamNotRetriedWhenNotIdempotent(t *testing.T) {
	p, bh := hostedPolicy(3)
	e := clientEnv(t, p)
	e.faults.add(watchMethod, fault{code: codes.Unavailable})
	s, err := watch(t.Context(), e, "svc")
	require.NoError(t, err)
	_, err = s.Recv()
	assert.Equal(t, codes.Unavailable, status.Code(err))
	assert.Equal(t, 1, e.faults.count(watchMethod))
	assert.Zero(t, bh.Snapshot().InFlight)
}

func TestStreamRetriesExhausted(t *testing.T) {
	p, bh := hostedPolicy(2)
	e := clientEnv(t, p, bulwarkgrpc.WithIdempotent(watchMethod))
	e.faults.add(watchMethod, fault{code: codes.Unavailable}, fault{code: codes.Unavailable, msg: "still down"})
	s, err := watch(t.Context(), e, "svc")
	require.NoError(t, err)
	_, err = s.Recv()
	st, _ := status.FromError(err)
	assert.Equal(t, codes.Unavailable, st.Code())
	assert.Equal(t, "still down", st.Message())
	assert.ErrorIs(t, err, retry.ErrExhausted)
	assert.Equal(t, 2, e.faults.count(watchMethod))
	assert.Zero(t, bh.Snapshot().InFlight)
}

func TestStreamEndsWell(t *testing.T) {
	// List is unary; the health service's only stream never ends by
	// itself, so a stream that ends well is one the server cuts with OK.
	p, bh := hostedPolicy(1)
	e := clientEnv(t, p)
	e.faults.add(watchMethod, fault{code: codes.OK, afterMessages: 1})
	s, err := watch(t.Context(), e, "svc")
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, recvStatus(t, s))
	_, err = s.Recv()
	assert.Equal(t, io.EOF, err)
	assert.Zero(t, bh.Snapshot().InFlight)
}

func TestStreamRejectedAtOpening(t *testing.T) {
	bh := bulkhead.New(1)
	e := clientEnv(t, bh)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	first, err := watch(ctx, e, "svc")
	require.NoError(t, err)
	recvStatus(t, first)

	_, err = watch(t.Context(), e, "svc")
	assert.Equal(t, codes.Unavailable, status.Code(err))
	assert.ErrorIs(t, err, bulkhead.ErrFull)
	assert.Equal(t, 1, e.faults.count(watchMethod))
}

// A stream cancelled half-way gives its permit back without the caller
// reading it again: the next stream, queued for that permit, gets it.
func TestStreamCancelledHalfWayReturnsItsPermit(t *testing.T) {
	bh := bulkhead.New(1, bulkhead.WithMaxQueue(1))
	e := clientEnv(t, bh)

	ctx, cancel := context.WithCancel(t.Context())
	first, err := watch(ctx, e, "svc")
	require.NoError(t, err)
	recvStatus(t, first)
	assert.Equal(t, bulkhead.Snapshot{Limit: 1, InFlight: 1}, bh.Snapshot())

	second := make(chan error, 1)
	go func() {
		s, err := watch(t.Context(), e, "svc") // queued behind the first
		if err == nil {
			_, err = s.Recv()
		}
		second <- err
	}()
	cancel() // and never read the first again
	require.NoError(t, <-second)
	assert.Equal(t, bulkhead.Snapshot{Limit: 1, InFlight: 1}, bh.Snapshot(), "the second holds the one permit")

	// Closing the ClientConn ends the second stream, which nobody reads:
	// its goroutine ends, and its permit is back.
	e.close()
	goleak.VerifyNone(t)
	assert.Zero(t, bh.Snapshot().InFlight)
}

// A breaker alone is used through Acquire and Done: a cancelled stream
// frees its half-open probe slot.
func TestStreamBreakerPermitFreedByCancel(t *testing.T) {
	b := breaker.New(breaker.WithConsecutiveFailures(1), breaker.WithOpenDuration(time.Nanosecond),
		breaker.WithHalfOpenProbes(1), breaker.WithHalfOpenMaxWait(time.Hour), breaker.WithFailureIf(bulwarkgrpc.IsFailure))
	e := clientEnv(t, b)
	e.faults.add(watchMethod, fault{code: codes.Internal})

	s, err := watch(t.Context(), e, "svc")
	require.NoError(t, err)
	_, err = s.Recv()
	require.Equal(t, codes.Internal, status.Code(err))
	require.NotEqual(t, breaker.Closed, b.State(), "the stream's final status was a failure")

	ctx, cancel := context.WithCancel(t.Context())
	probe, err := watch(ctx, e, "svc")
	require.NoError(t, err)
	recvStatus(t, probe)
	_, err = watch(t.Context(), e, "svc")
	assert.ErrorIs(t, err, breaker.ErrOpen, "the probe slot is taken")
	assert.Equal(t, codes.Unavailable, status.Code(err))

	cancel()
	_, err = probe.Recv()
	assert.Equal(t, codes.Canceled, status.Code(err))
	assert.Equal(t, breaker.HalfOpen, b.State(), "a cancellation is no outcome")

	ctx, cancel = context.WithCancel(t.Context())
	defer cancel()
	again, err := watch(ctx, e, "svc")
	require.NoError(t, err, "the probe slot was freed")
	recvStatus(t, again)
}

func TestStreamBreakerLearnsTheFinalStatus(t *testing.T) {
	b := breaker.New(breaker.WithConsecutiveFailures(1), breaker.WithOpenDuration(time.Hour),
		breaker.WithFailureIf(bulwarkgrpc.IsFailure))
	e := clientEnv(t, b)
	e.faults.add(watchMethod, fault{code: codes.NotFound, afterMessages: 1})
	s, err := watch(t.Context(), e, "svc")
	require.NoError(t, err)
	recvStatus(t, s)
	_, err = s.Recv()
	assert.Equal(t, codes.NotFound, status.Code(err))
	assert.Equal(t, breaker.Closed, b.State(), "NotFound is an answer")

	e.faults.add(watchMethod, fault{code: codes.DataLoss, afterMessages: 1})
	s, err = watch(t.Context(), e, "svc")
	require.NoError(t, err)
	recvStatus(t, s)
	_, err = s.Recv()
	assert.Equal(t, codes.DataLoss, status.Code(err))
	assert.Equal(t, breaker.Open, b.State())
	_, err = watch(t.Context(), e, "svc")
	assert.ErrorIs(t, err, breaker.ErrOpen)
}

func TestStreamHedgeIsRefused(t *testing.T) {
	opened := make(chan struct{}, 1)
	twice := policyFunc(func(ctx context.Context, fn func(context.Context) error) error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		first := make(chan error, 1)
		go func() { first <- fn(ctx) }()
		<-opened
		second := fn(ctx)
		cancel()
		<-first
		return second
	})
	signal := grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		s, err := streamer(ctx, desc, cc, method, opts...)
		opened <- struct{}{}
		return s, err
	})
	e := newEnv(t, nil, grpc.WithChainStreamInterceptor(bulwarkgrpc.StreamClientInterceptor(twice)), signal)
	s, err := watch(t.Context(), e, "svc")
	if err == nil {
		_, err = s.Recv()
		for err == nil {
			_, err = s.Recv()
		}
	}
	assert.Equal(t, codes.FailedPrecondition, status.Code(err))
}

// A second attempt started while the first is still opening its stream
// (inside the streamer, the attempt not yet the caller's) is refused as
// well: an attempt counts from the moment the policy calls the function,
// not from the moment its stream is open. The interceptor holds the
// first attempt in the streamer while the policy starts the second; a
// second stream it is asked for is answered Aborted, never opened.
func TestStreamHedgeIsRefusedWhileTheFirstOpens(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	hold := grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		if calls.Add(1) > 1 {
			return nil, status.Error(codes.Aborted, "a second stream was opened beside the first")
		}
		close(entered)
		<-release
		return streamer(ctx, desc, cc, method, opts...)
	})
	twice := policyFunc(func(ctx context.Context, fn func(context.Context) error) error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		first := make(chan error, 1)
		go func() { first <- fn(ctx) }()
		<-entered
		second := fn(ctx)
		cancel()
		close(release)
		<-first
		return second
	})
	e := newEnv(t, nil, grpc.WithChainStreamInterceptor(bulwarkgrpc.StreamClientInterceptor(twice)), hold)
	_, err := watch(t.Context(), e, "svc")
	assert.Equal(t, codes.FailedPrecondition, status.Code(err), "%v", err)
	assert.Equal(t, int32(1), calls.Load(), "the second attempt never reached the streamer")
}

// hedge.New's hedge, fired while the first attempt still opens its
// stream (the interceptor holds it until the hedge gives it up), is
// refused: the stream fails with FailedPrecondition, one stream was asked
// for, and nothing is left running. A second stream asked for is answered
// Aborted, and lets the first go with Aborted too.
func TestStreamRealHedgeWhileTheFirstOpens(t *testing.T) {
	var calls atomic.Int32
	second := make(chan struct{})
	hold := grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		if calls.Add(1) > 1 {
			close(second)
			return nil, status.Error(codes.Aborted, "a second stream was opened beside the first")
		}
		select {
		case <-ctx.Done():
		case <-second:
			return nil, status.Error(codes.Aborted, "the first stream, beside a second")
		}
		return streamer(ctx, desc, cc, method, opts...)
	})
	bh := bulkhead.New(1)
	p := bulwark.New(bh, hedge.New(hedge.WithDelay(time.Millisecond)))
	e := newEnv(t, nil, grpc.WithChainStreamInterceptor(bulwarkgrpc.StreamClientInterceptor(p)), hold)
	_, err := watch(t.Context(), e, "svc")
	assert.Equal(t, codes.FailedPrecondition, status.Code(err), "%v", err)
	assert.Equal(t, int32(1), calls.Load())
	assert.Zero(t, bh.Snapshot().InFlight)
	e.close()
	goleak.VerifyNone(t)
}

// hostGoroutines counts the goroutines that hold a stream's policy open.
func hostGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "bulwarkgrpc.(*hosted).run(")
}

// A breaker alone holds a stream through Acquire and Done, with no
// goroutine; any other policy, through one goroutine that ends with the
// stream.
func TestStreamGoroutines(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    bulwark.Policy
		want int
	}{
		{"breaker", breaker.New(), 0},
		{"pipeline", bulwark.New(breaker.New()), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := clientEnv(t, tc.p)
			ctx, cancel := context.WithCancel(t.Context())
			s, err := watch(ctx, e, "svc")
			require.NoError(t, err)
			recvStatus(t, s)
			assert.Equal(t, tc.want, hostGoroutines())
			cancel()
			_, _ = s.Recv()
			e.close()
			goleak.VerifyNone(t)
		})
	}
}

func TestStreamWithMaxReplay(t *testing.T) {
	for _, tc := range []struct {
		max      int
		attempts int
	}{{0, 1}, {1, 2}} {
		p, bh := hostedPolicy(3)
		e := clientEnv(t, p, bulwarkgrpc.WithIdempotent(watchMethod), bulwarkgrpc.WithMaxReplay(tc.max))
		e.faults.add(watchMethod, fault{code: codes.Unavailable})
		ctx, cancel := context.WithCancel(t.Context())
		s, err := watch(ctx, e, "svc")
		require.NoError(t, err)
		_, err = s.Recv()
		if tc.attempts == 1 {
			assert.Equal(t, codes.Unavailable, status.Code(err), "the request was sent and not kept: no retry")
		} else {
			assert.NoError(t, err, "the request was kept and sent again")
		}
		assert.Equal(t, tc.attempts, e.faults.count(watchMethod))
		cancel()
		_, _ = s.Recv()
		assert.Zero(t, bh.Snapshot().InFlight)
	}
}
