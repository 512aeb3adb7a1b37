package bulwarkgrpc_test

import (
	"context"
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	checkMethod = healthpb.Health_Check_FullMethodName
	watchMethod = healthpb.Health_Watch_FullMethodName
	listMethod  = healthpb.Health_List_FullMethodName
)

// fault is what the faulty server does to one call, before the health
// service sees it: fail with code (and pushback trailer values), or, for a
// stream, fail once afterMessages messages went out.
type fault struct {
	code          codes.Code
	msg           string
	pushback      []string
	afterMessages int
}

// faults scripts the faulty server: calls of a method take the next fault
// of its queue, then pass untouched once the queue is empty. It counts
// every call.
type faults struct {
	mu     sync.Mutex
	queue  map[string][]fault
	counts map[string]int
}

func newFaults() *faults {
	return &faults{queue: map[string][]fault{}, counts: map[string]int{}}
}

func (f *faults) add(method string, fs ...fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue[method] = append(f.queue[method], fs...)
}

func (f *faults) next(method string) (fault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counts[method]++
	q := f.queue[method]
	if len(q) == 0 {
		return fault{}, false
	}
	f.queue[method] = q[1:]
	return q[0], true
}

func (f *faults) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts[method]
}

func (ft fault) err() error {
	msg := ft.msg
	if msg == "" {
		msg = "injected " + ft.code.String()
	}
	return status.Error(ft.code, msg)
}

func (f *faults) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ft, ok := f.next(info.FullMethod)
	if !ok {
		return handler(ctx, req)
	}
	if len(ft.pushback) > 0 {
		_ = grpc.SetTrailer(ctx, metadata.MD{"grpc-retry-pushback-ms": ft.pushback})
	}
	return nil, ft.err()
}

func (f *faults) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ft, ok := f.next(info.FullMethod)
	if !ok {
		return handler(srv, ss)
	}
	if len(ft.pushback) > 0 {
		ss.SetTrailer(metadata.MD{"grpc-retry-pushback-ms": ft.pushback})
	}
	if ft.afterMessages == 0 {
		return ft.err()
	}
	ctx, cancel := context.WithCancel(ss.Context())
	defer cancel()
	_ = handler(srv, &cutStream{ServerStream: ss, ctx: ctx, cancel: cancel, left: ft.afterMessages})
	return ft.err()
}

// cutStream ends the handler (by its context) once it sent left messages.
type cutStream struct {
	grpc.ServerStream
	ctx    context.Context
	cancel context.CancelFunc
	left   int
}

func (s *cutStream) Context() context.Context { return s.ctx }

func (s *cutStream) SendMsg(m any) error {
	err := s.ServerStream.SendMsg(m)
	if s.left--; s.left <= 0 {
		s.cancel()
	}
	return err
}

// env is a real grpc server with the health service, on bufconn, and a
// client connection to it.
type env struct {
	health *health.Server
	faults *faults
	conn   *grpc.ClientConn
	client healthpb.HealthClient
	srv    *grpc.Server
	lis    *bufconn.Listener
	close  func() // closes the connection and stops the server, once
}

// newEnv starts the server with the faulty interceptors innermost (after
// those of serverOpts) and dials it with dialOpts. The health service
// serves "" and "svc".
func newEnv(t testing.TB, serverOpts []grpc.ServerOption, dialOpts ...grpc.DialOption) *env {
	t.Helper()
	return newEnvRetrying(t, false, serverOpts, dialOpts...)
}

// newEnvRetrying is newEnv with grpc-go's own retries left on if
// grpcRetries is set.
func newEnvRetrying(t testing.TB, grpcRetries bool, serverOpts []grpc.ServerOption, dialOpts ...grpc.DialOption) *env {
	t.Helper()
	e := &env{health: health.NewServer(), faults: newFaults(), lis: bufconn.Listen(1 << 20)}
	e.health.SetServingStatus("svc", healthpb.HealthCheckResponse_SERVING)
	opts := append([]grpc.ServerOption{}, serverOpts...)
	opts = append(opts, grpc.ChainUnaryInterceptor(e.faults.unary), grpc.ChainStreamInterceptor(e.faults.stream))
	e.srv = grpc.NewServer(opts...)
	healthpb.RegisterHealthServer(e.srv, e.health)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = e.srv.Serve(e.lis)
	}()
	dial := []grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return e.lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	}
	if !grpcRetries {
		dial = append(dial, grpc.WithDisableRetry()) // bulwark retries here, not grpc-go
	}
	dial = append(dial, dialOpts...)
	conn, err := grpc.NewClient("passthrough:///bufnet", dial...)
	require.NoError(t, err)
	e.conn = conn
	e.client = healthpb.NewHealthClient(conn)
	e.close = sync.OnceFunc(func() {
		_ = conn.Close()
		e.srv.Stop()
		<-served
	})
	t.Cleanup(e.close)
	return e
}

// serve passes server interceptors.
func serve(unary grpc.UnaryServerInterceptor, stream grpc.StreamServerInterceptor) []grpc.ServerOption {
	var opts []grpc.ServerOption
	if unary != nil {
		opts = append(opts, grpc.ChainUnaryInterceptor(unary))
	}
	if stream != nil {
		opts = append(opts, grpc.ChainStreamInterceptor(stream))
	}
	return opts
}

func check(ctx context.Context, e *env, service string, opts ...grpc.CallOption) (*healthpb.HealthCheckResponse, error) {
	return e.client.Check(ctx, &healthpb.HealthCheckRequest{Service: service}, opts...)
}
