package bulwarkgrpc_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/middleware/bulwarkgrpc"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// serverEnv starts the health server behind the server interceptors of p,
// with a plain client.
func serverEnv(t *testing.T, p bulwark.Policy, opts ...bulwarkgrpc.Option) *env {
	return newEnv(t, serve(bulwarkgrpc.UnaryServerInterceptor(p, opts...), bulwarkgrpc.StreamServerInterceptor(p, opts...)))
}

func retryInfo(err error) (time.Duration, bool) {
	for _, d := range status.Convert(err).Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return ri.GetRetryDelay().AsDuration(), true
		}
	}
	return 0, false
}

func TestServerRateLimitIsResourceExhaustedWithPushback(t *testing.T) {
	e := serverEnv(t, ratelimit.New(1e-3, 1)) // one call, then one every 1000s
	_, err := check(t.Context(), e, "svc")
	require.NoError(t, err)

	var trailer metadata.MD
	_, err = check(t.Context(), e, "svc", grpc.Trailer(&trailer))
	st := status.Convert(err)
	assert.Equal(t, codes.ResourceExhausted, st.Code())
	assert.Contains(t, st.Message(), "ratelimit")
	pb := trailer.Get(bulwarkgrpc.PushbackKey)
	require.Len(t, pb, 1)
	assert.Regexp(t, `^(99\d|1000)\d{3}$`, pb[0], "about 1000s, in ms, rounded up")
	d, ok := retryInfo(err)
	require.True(t, ok)
	assert.InDelta(t, 1000*time.Second, d, float64(10*time.Second))
	assert.Equal(t, 1, e.faults.count(checkMethod), "the rejected call never reached the handler")
}

func TestServerStatusMapping(t *testing.T) {
	open := breaker.New(breaker.WithOpenDuration(time.Hour))
	open.Isolate()
	full := bulkhead.New(1)
	hold := make(chan struct{})
	held := make(chan struct{})
	go func() {
		_ = full.Execute(context.Background(), func(context.Context) error { close(held); <-hold; return nil })
	}()
	<-held
	defer close(hold)

	for _, tc := range []struct {
		name     string
		p        bulwark.Policy
		code     codes.Code
		pushback bool
	}{
		{"breaker open", open, codes.Unavailable, false},
		{"bulkhead full", full, codes.ResourceExhausted, false},
		{"timeout", timeout.New(time.Millisecond), codes.DeadlineExceeded, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := serverEnv(t, tc.p)
			var trailer metadata.MD
			if tc.name == "timeout" {
				// Watch waits for a change that never comes: the server's
				// timeout ends it, and the handler says Canceled.
				s, err := watch(t.Context(), e, "svc", grpc.Trailer(&trailer))
				require.NoError(t, err)
				recvStatus(t, s)
				_, err = s.Recv()
				assert.Equal(t, tc.code, status.Code(err))
				return
			}
			_, err := check(t.Context(), e, "svc", grpc.Trailer(&trailer))
			assert.Equal(t, tc.code, status.Code(err))
			assert.Equal(t, tc.pushback, len(trailer.Get(bulwarkgrpc.PushbackKey)) == 1)
			assert.Zero(t, e.faults.count(checkMethod))
		})
	}
}

func TestServerHandlerErrorsPassUnchanged(t *testing.T) {
	t.Run("over grpc", func(t *testing.T) {
		e := serverEnv(t, breaker.New())
		_, err := check(t.Context(), e, "no such service")
		st := status.Convert(err)
		assert.Equal(t, codes.NotFound, st.Code())
		assert.Equal(t, "unknown service", st.Message())
	})
	t.Run("the very error", func(t *testing.T) {
		herr := status.Error(codes.AlreadyExists, "exists")
		call := bulwarkgrpc.UnaryServerInterceptor(bulwark.New(retry.New(), breaker.New()))
		_, err := call(t.Context(), nil, &grpc.UnaryServerInfo{FullMethod: checkMethod},
			func(context.Context, any) (any, error) { return nil, herr })
		assert.True(t, err == herr, "got %v", err)
	})
	t.Run("a plain error becomes the status grpc would make of it", func(t *testing.T) {
		herr := errors.New("disk on fire")
		call := bulwarkgrpc.UnaryServerInterceptor(breaker.New())
		_, err := call(t.Context(), nil, &grpc.UnaryServerInfo{FullMethod: checkMethod},
			func(context.Context, any) (any, error) { return nil, herr })
		assert.Equal(t, codes.Unknown, status.Code(err))
		assert.Equal(t, "disk on fire", status.Convert(err).Message())
		assert.ErrorIs(t, err, herr)
	})
}

func TestServerBreakerLearnsTheHandlersCodes(t *testing.T) {
	b := breaker.New(breaker.WithConsecutiveFailures(2), breaker.WithOpenDuration(time.Hour),
		breaker.WithFailureIf(bulwarkgrpc.IsFailure))
	e := serverEnv(t, b)
	for range 3 {
		_, err := check(t.Context(), e, "no such service")
		assert.Equal(t, codes.NotFound, status.Code(err))
	}
	assert.Equal(t, breaker.Closed, b.State())
	e.faults.add(checkMethod, fault{code: codes.Internal}, fault{code: codes.Internal})
	for range 2 {
		_, err := check(t.Context(), e, "svc")
		assert.Equal(t, codes.Internal, status.Code(err))
	}
	assert.Equal(t, breaker.Open, b.State())
	var trailer metadata.MD
	_, err := check(t.Context(), e, "svc", grpc.Trailer(&trailer))
	assert.Equal(t, codes.Unavailable, status.Code(err))
	assert.Len(t, trailer.Get(bulwarkgrpc.PushbackKey), 1, "the open breaker says when it lets probes through")
	d, ok := retryInfo(err)
	assert.True(t, ok)
	assert.InDelta(t, time.Hour, d, float64(time.Minute))
}

func TestServerRetriesIdempotentUnaryHandlersOnly(t *testing.T) {
	r := retry.New(retry.WithMaxAttempts(3), retry.WithDelay(0))
	e := serverEnv(t, r, bulwarkgrpc.WithIdempotent(checkMethod, watchMethod))
	e.faults.add(checkMethod, fault{code: codes.Unavailable})
	_, err := check(t.Context(), e, "svc")
	require.NoError(t, err)
	assert.Equal(t, 2, e.faults.count(checkMethod))

	// A stream handler has read the client's messages: it is never run
	// again, idempotent or not.
	e.faults.add(watchMethod, fault{code: codes.Unavailable})
	s, err := watch(t.Context(), e, "svc")
	require.NoError(t, err)
	_, err = s.Recv()
	assert.Equal(t, codes.Unavailable, status.Code(err))
	assert.Equal(t, 1, e.faults.count(watchMethod))
}

func TestServerStreamHoldsItsPermitForTheWholeStream(t *testing.T) {
	bh := bulkhead.New(1)
	e := serverEnv(t, bh)
	ctx, cancel := context.WithCancel(t.Context())
	first, err := watch(ctx, e, "svc")
	require.NoError(t, err)
	recvStatus(t, first)
	assert.Equal(t, 1, bh.Snapshot().InFlight)

	second, err := watch(t.Context(), e, "svc")
	require.NoError(t, err)
	_, err = second.Recv()
	assert.Equal(t, codes.ResourceExhausted, status.Code(err))
	assert.ErrorContains(t, err, "bulkhead")

	cancel()
	_, err = first.Recv()
	assert.Equal(t, codes.Canceled, status.Code(err))
	third, err := watch(t.Context(), e, "svc")
	require.NoError(t, err)
	// The server learns of the first's end on its own time: the third
	// is admitted once it has.
	for {
		if _, err = third.Recv(); status.Code(err) != codes.ResourceExhausted {
			break
		}
		third, err = watch(t.Context(), e, "svc")
		require.NoError(t, err)
	}
	require.NoError(t, err)
}

func TestServerKeyedLimitByMetadata(t *testing.T) {
	limit := ratelimit.NewKeyed(1e-3, 1, bulwarkgrpc.MetadataKey("X-Tenant"))
	e := serverEnv(t, limit)
	as := func(tenant string) context.Context {
		return metadata.AppendToOutgoingContext(t.Context(), "x-tenant", tenant)
	}
	_, err := check(as("a"), e, "svc")
	require.NoError(t, err)
	_, err = check(as("a"), e, "svc")
	assert.Equal(t, codes.ResourceExhausted, status.Code(err))
	_, err = check(as("b"), e, "svc")
	require.NoError(t, err, "another tenant has a bucket of its own")
	assert.Equal(t, 2, limit.Len())
}

func TestPeerKey(t *testing.T) {
	t.Run("bufconn", func(t *testing.T) {
		var keys []string
		var mu sync.Mutex
		record := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			mu.Lock()
			keys = append(keys, bulwarkgrpc.PeerKey(ctx))
			mu.Unlock()
			return handler(ctx, req)
		}
		e := newEnv(t, serve(record, nil))
		_, err := check(t.Context(), e, "svc")
		require.NoError(t, err)
		assert.Equal(t, []string{"bufconn"}, keys)
	})
	t.Run("loopback TCP: the host without the port", func(t *testing.T) {
		limit := ratelimit.NewKeyed(1e-3, 1, bulwarkgrpc.PeerKey)
		srv := grpc.NewServer(grpc.ChainUnaryInterceptor(bulwarkgrpc.UnaryServerInterceptor(limit)))
		healthpb.RegisterHealthServer(srv, health.NewServer())
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		served := make(chan struct{})
		go func() { defer close(served); _ = srv.Serve(lis) }()
		defer func() { srv.Stop(); <-served }()
		for range 2 { // two connections, two ports, one host
			conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
			require.NoError(t, err)
			_, _ = healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{})
			require.NoError(t, conn.Close())
		}
		tokens, ok := limit.Tokens("127.0.0.1")
		assert.True(t, ok)
		assert.Less(t, tokens, 1.0)
		assert.Equal(t, 1, limit.Len())
	})
	t.Run("no peer", func(t *testing.T) {
		assert.Equal(t, "", bulwarkgrpc.PeerKey(context.Background()))
	})
}

// The interceptor is called directly: grpc-go recovers nothing,
// so a panic through a real server would end the test binary.
func TestServerPanicGoesOnAfterThePermitIsBack(t *testing.T) {
	bh := bulkhead.New(1)
	b := breaker.New(breaker.WithConsecutiveFailures(1), breaker.WithOpenDuration(time.Hour))
	call := bulwarkgrpc.UnaryServerInterceptor(bulwark.New(b, bh))
	v := recoverFrom(func() {
		_, _ = call(t.Context(), nil, &grpc.UnaryServerInfo{FullMethod: checkMethod},
			func(context.Context, any) (any, error) { panic("handler boom") })
	})
	assert.Equal(t, "handler boom", v, "the panic goes on unchanged")
	assert.Zero(t, bh.Snapshot().InFlight)
	assert.Equal(t, breaker.Open, b.State(), "a panic is a failure")

	scall := bulwarkgrpc.StreamServerInterceptor(bh)
	v = recoverFrom(func() {
		_ = scall(nil, fakeServerStream{ctx: t.Context()}, &grpc.StreamServerInfo{FullMethod: watchMethod},
			func(any, grpc.ServerStream) error { panic("stream boom") })
	})
	assert.Equal(t, "stream boom", v)
	assert.Zero(t, bh.Snapshot().InFlight)
}

func TestServerWithRecovery(t *testing.T) {
	bh := bulkhead.New(1)
	var got []any
	rec := bulwarkgrpc.WithRecovery(func(_ context.Context, p any) error {
		got = append(got, p)
		if p == "custom" {
			return status.Error(codes.Aborted, "try elsewhere")
		}
		return nil
	})
	e := newEnv(t, serve(bulwarkgrpc.UnaryServerInterceptor(bh, rec), bulwarkgrpc.StreamServerInterceptor(bh, rec)))

	call := bulwarkgrpc.UnaryServerInterceptor(bh, rec)
	_, err := call(t.Context(), nil, &grpc.UnaryServerInfo{FullMethod: checkMethod},
		func(context.Context, any) (any, error) { panic("secret detail") })
	st := status.Convert(err)
	assert.Equal(t, codes.Internal, st.Code())
	assert.NotContains(t, st.Message(), "secret", "the panic value never reaches the client")
	_, err = call(t.Context(), nil, &grpc.UnaryServerInfo{FullMethod: checkMethod},
		func(context.Context, any) (any, error) { panic("custom") })
	assert.Equal(t, codes.Aborted, status.Code(err))
	scall := bulwarkgrpc.StreamServerInterceptor(bh, rec)
	err = scall(nil, fakeServerStream{ctx: t.Context()}, &grpc.StreamServerInfo{FullMethod: watchMethod},
		func(any, grpc.ServerStream) error { panic("stream secret") })
	assert.Equal(t, codes.Internal, status.Code(err))
	assert.Equal(t, []any{"secret detail", "custom", "stream secret"}, got)
	assert.Zero(t, bh.Snapshot().InFlight)

	_, err = check(t.Context(), e, "svc")
	require.NoError(t, err, "a real server with recovery still serves")
}

type fakeServerStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s fakeServerStream) Context() context.Context { return s.ctx }
func (fakeServerStream) SetTrailer(metadata.MD)     {}

func recoverFrom(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}

// A client that goes away mid-stream is no failure of the server's handler.
func TestServerClientCancellationIsNoFailure(t *testing.T) {
	b := breaker.New(breaker.WithConsecutiveFailures(1), breaker.WithOpenDuration(time.Hour),
		breaker.WithFailureIf(bulwarkgrpc.IsFailure))
	bh := bulkhead.New(4)
	e := serverEnv(t, bulwark.New(b, bh))
	for range 3 {
		ctx, cancel := context.WithCancel(t.Context())
		s, err := watch(ctx, e, "svc")
		require.NoError(t, err)
		recvStatus(t, s)
		cancel()
		_, _ = s.Recv()
	}
	e.srv.GracefulStop() // every handler has returned
	assert.Equal(t, breaker.Closed, b.State())
	assert.Equal(t, [4]int64{0, 0, 3, 0}, b.Snapshot().Totals, "three calls, all ignored")
	assert.Zero(t, bh.Snapshot().InFlight)
}
