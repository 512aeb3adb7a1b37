package reliability_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/middleware/bulwarkgrpc"
	"github.com/bulwark-go/bulwark/middleware/bulwarkhttp"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/timeout"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

// The middleware rows of the panic matrix run real servers: net/http on
// loopback, gRPC on bufconn. The protected call is the handler (servers)
// or the attempt (clients); the caller is the frame net/http or grpc-go
// would recover in (an outer handler or interceptor), or the client's
// caller. Each runs a subject and a twin whose protected call, where the
// subject's panics, fails with an error the middleware marks as a
// failure no retry repeats, which is what the policies make of a panic.

// middlewarePolicy is the pipeline every middleware row protects with: a
// retry (so that the panic comes on the second attempt), a breaker that
// counts it, and a bulkhead that must get its permit back.
func middlewarePolicy() (bulwark.Policy, []any) {
	r, b, bh := retry.New(retry.WithDelay(0)), breaker.New(), bulkhead.New(2)
	return bulwark.New(r, b, bh, timeout.New(time.Minute)), []any{r, b, bh}
}

// attempts scripts a middleware row's protected call: the first attempt
// fails with a failure worth retrying, the second panics with value, or
// for the twin (value nil) fails in a way that is not retried.
type attempts struct {
	value any
	n     atomic.Int32
}

func (a *attempts) next() int { return int(a.n.Add(1)) }

type middlewareRow struct {
	name string
	// run makes one call through policy p with the scripted protected
	// call, and returns what reached the caller's frame: the panic value,
	// or nil if none came.
	run func(t *testing.T, p bulwark.Policy, a *attempts) any
	// attempts is the number of protected calls the script makes.
	attempts int
}

func TestPanicMatrixMiddleware(t *testing.T) {
	for _, r := range middlewareRows() {
		t.Run(r.name, func(t *testing.T) {
			subject, subjectParts := middlewarePolicy()
			twin, twinParts := middlewarePolicy()
			before := readings(subjectParts)

			value := &boom{row: r.name}
			sa, ta := &attempts{value: value}, &attempts{}
			got := r.run(t, subject, sa)
			require.NotNil(t, got, "the panic must reach the caller's frame")
			require.True(t, got == any(value), "the caller's frame must get the panic's own value, got %#v", got)
			require.Nil(t, r.run(t, twin, ta), "the twin does not panic")
			require.Equal(t, int32(r.attempts), sa.n.Load(), "every scripted attempt ran, and none after the panic")
			require.Equal(t, int32(r.attempts), ta.n.Load())

			after := readings(subjectParts)
			require.Equal(t, readings(twinParts), after, "the policies read as after a failure that is not retried")
			require.Equal(t, before[2], after[2], "the bulkhead reads as before: its permit is back")
			goleak.VerifyNone(t)
		})
	}
}

func middlewareRows() []middlewareRow {
	return []middlewareRow{
		{name: "bulwarkhttp/Middleware", run: httpMiddlewareCall, attempts: 2},
		{name: "bulwarkhttp/Transport", run: httpTransportCall, attempts: 2},
		{name: "bulwarkgrpc/UnaryClientInterceptor", run: grpcUnaryClientCall, attempts: 2},
		{name: "bulwarkgrpc/StreamClientInterceptor", run: grpcStreamClientCall, attempts: 2},
		{name: "bulwarkgrpc/UnaryServerInterceptor", run: grpcUnaryServerCall, attempts: 1},
		{name: "bulwarkgrpc/StreamServerInterceptor", run: grpcStreamServerCall, attempts: 1},
	}
}

// httpMiddlewareCall serves one request through Middleware on a loopback
// server; the frame above the middleware recovers what net/http would.
// A server handler runs once, so the script's second attempt is the
// handler: the first is a request served before it.
func httpMiddlewareCall(t *testing.T, p bulwark.Policy, a *attempts) any {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n := a.next(); {
		case n == 1:
			w.WriteHeader(http.StatusServiceUnavailable)
		case a.value != nil:
			panic(a.value)
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	mw := bulwarkhttp.Middleware(p)(h)
	var (
		mu  sync.Mutex
		got any
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				mu.Lock()
				got = v
				mu.Unlock()
				w.WriteHeader(http.StatusInternalServerError)
			}
		}()
		mw.ServeHTTP(w, r)
	}))
	defer srv.Close()
	client := srv.Client()
	defer client.CloseIdleConnections()
	for range 2 {
		resp, err := client.Get(srv.URL)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	return got
}

// httpTransportCall sends one request through Transport to a loopback
// server; the base RoundTripper is a real http.Transport whose second
// attempt panics, or for the twin gets a 500 (a failure not retried).
func httpTransportCall(t *testing.T, p bulwark.Policy, a *attempts) (got any) {
	var served atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if served.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer srv.Close()
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if a.next() == 2 && a.value != nil {
			panic(a.value)
		}
		return base.RoundTrip(r)
	})
	client := &http.Client{Transport: bulwarkhttp.Transport(rt, p)}
	defer func() { got = recover() }()
	resp, err := client.Get(srv.URL)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	return nil
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// grpcServer is a real grpc server with the health service ("svc" is
// serving), on bufconn.
type grpcServer struct {
	lis  *bufconn.Listener
	stop func() // stops the server, once
}

func startGRPC(opts ...grpc.ServerOption) *grpcServer {
	hs := health.NewServer()
	hs.SetServingStatus("svc", healthpb.HealthCheckResponse_SERVING)
	s := &grpcServer{lis: bufconn.Listen(1 << 20)}
	srv := grpc.NewServer(opts...)
	healthpb.RegisterHealthServer(srv, hs)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(s.lis)
	}()
	s.stop = sync.OnceFunc(func() {
		srv.Stop()
		<-served
	})
	return s
}

// dial connects a client to the server; the returned function closes it.
func (s *grpcServer) dial(t *testing.T, opts ...grpc.DialOption) (healthpb.HealthClient, func()) {
	t.Helper()
	dial := append([]grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return s.lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDisableRetry(),
	}, opts...)
	conn, err := grpc.NewClient("passthrough:///bufnet", dial...)
	require.NoError(t, err)
	return healthpb.NewHealthClient(conn), func() { _ = conn.Close() }
}

// grpcEnv is a server and one client of it.
type grpcEnv struct {
	client healthpb.HealthClient
	close  func() // closes the client and stops the server, once
}

func newGRPCEnv(t *testing.T, serverOpts []grpc.ServerOption, dialOpts ...grpc.DialOption) *grpcEnv {
	t.Helper()
	srv := startGRPC(serverOpts...)
	client, closeClient := srv.dial(t, dialOpts...)
	e := &grpcEnv{client: client, close: sync.OnceFunc(func() {
		closeClient()
		srv.stop()
	})}
	t.Cleanup(e.close)
	return e
}

var (
	errUnavailable = status.Error(codes.Unavailable, "injected: unavailable")
	errInternal    = status.Error(codes.Internal, "injected: internal")
)

// grpcUnaryClientCall makes one unary call through the client
// interceptor; an interceptor inside it is the attempt, which panics on
// the second, or for the twin returns Internal (a failure not retried).
func grpcUnaryClientCall(t *testing.T, p bulwark.Policy, a *attempts) (got any) {
	inner := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		switch n := a.next(); {
		case n == 1:
			return errUnavailable
		case a.value != nil:
			panic(a.value)
		}
		return errInternal
	}
	e := newGRPCEnv(t, nil, grpc.WithChainUnaryInterceptor(
		bulwarkgrpc.UnaryClientInterceptor(p, bulwarkgrpc.WithIdempotent(healthpb.Health_Check_FullMethodName)), inner))
	defer e.close()
	defer func() { got = recover() }()
	_, err := e.client.Check(t.Context(), &healthpb.HealthCheckRequest{Service: "svc"})
	require.Equal(t, codes.Internal, status.Code(err))
	return nil
}

// grpcStreamClientCall opens one server stream through the client
// interceptor; the stream inside it fails its first attempt's first
// RecvMsg with Unavailable (retried, since nothing was received), and
// the second attempt's RecvMsg panics, or for the twin fails with
// Internal.
func grpcStreamClientCall(t *testing.T, p bulwark.Policy, a *attempts) (got any) {
	inner := func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		cs, err := streamer(ctx, desc, cc, method, opts...)
		if err != nil {
			return nil, err
		}
		return &scriptedStream{ClientStream: cs, n: a.next(), a: a}, nil
	}
	e := newGRPCEnv(t, nil, grpc.WithChainStreamInterceptor(
		bulwarkgrpc.StreamClientInterceptor(p, bulwarkgrpc.WithIdempotent(healthpb.Health_Watch_FullMethodName)), inner))
	defer e.close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	defer func() { got = recover() }()
	s, err := e.client.Watch(ctx, &healthpb.HealthCheckRequest{Service: "svc"})
	require.NoError(t, err)
	_, err = s.Recv()
	require.Equal(t, codes.Internal, status.Code(err))
	return nil
}

type scriptedStream struct {
	grpc.ClientStream
	n int
	a *attempts
}

func (s *scriptedStream) RecvMsg(m any) error {
	switch {
	case s.n == 1:
		return errUnavailable
	case s.a.value != nil:
		panic(s.a.value)
	}
	return errInternal
}

// recoverer is the interceptor outside bulwark's on a server: it takes
// what grpc-go would (it recovers nothing, so the process would end).
type recoverer struct {
	mu  sync.Mutex
	got any
}

func (r *recoverer) take(v any) {
	r.mu.Lock()
	r.got = v
	r.mu.Unlock()
}

func (r *recoverer) value() any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got
}

func (r *recoverer) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if v := recover(); v != nil {
			r.take(v)
			err = status.Error(codes.Internal, fmt.Sprint(v))
		}
	}()
	return handler(ctx, req)
}

func (r *recoverer) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	defer func() {
		if v := recover(); v != nil {
			r.take(v)
			err = status.Error(codes.Internal, fmt.Sprint(v))
		}
	}()
	return handler(srv, ss)
}

// grpcUnaryServerCall makes one unary call to a server whose handler,
// inside the server interceptor, panics, or for the twin returns
// Internal (a failure for the breaker; a server never retries).
func grpcUnaryServerCall(t *testing.T, p bulwark.Policy, a *attempts) any {
	rec := &recoverer{}
	handler := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		a.next()
		if a.value != nil {
			panic(a.value)
		}
		return nil, errInternal
	}
	e := newGRPCEnv(t, []grpc.ServerOption{grpc.ChainUnaryInterceptor(rec.unary, bulwarkgrpc.UnaryServerInterceptor(p), handler)})
	_, err := e.client.Check(t.Context(), &healthpb.HealthCheckRequest{Service: "svc"})
	require.Equal(t, codes.Internal, status.Code(err))
	e.close()
	return rec.value()
}

// grpcStreamServerCall opens one stream to a server whose stream handler,
// inside the server interceptor, panics, or for the twin returns Internal.
func grpcStreamServerCall(t *testing.T, p bulwark.Policy, a *attempts) any {
	rec := &recoverer{}
	handler := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		a.next()
		if a.value != nil {
			panic(a.value)
		}
		return errInternal
	}
	e := newGRPCEnv(t, []grpc.ServerOption{grpc.ChainStreamInterceptor(rec.stream, bulwarkgrpc.StreamServerInterceptor(p), handler)})
	s, err := e.client.Watch(t.Context(), &healthpb.HealthCheckRequest{Service: "svc"})
	require.NoError(t, err)
	_, err = s.Recv()
	require.Equal(t, codes.Internal, status.Code(err))
	e.close()
	return rec.value()
}
