package benchmarks

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

// The gRPC scenarios call grpc-go's health service over bufconn (in
// memory, so the figures are the stack's, not a network's), through each
// peer's unary client interceptor with retry (3 attempts, no wait) and a
// breaker where the peer has one. "bare" is the same call with no
// interceptor: the floor of every row.

const grpcCheck = "/grpc.health.v1.Health/Check"

// grpcServer serves the health service on bufconn; failFirst, if set,
// makes the first n calls fail with Unavailable.
type grpcServer struct {
	lis       *bufconn.Listener
	srv       *grpc.Server
	failFirst atomic.Int32
	calls     atomic.Int32
}

func startGRPC(tb testing.TB) *grpcServer {
	tb.Helper()
	s := &grpcServer{lis: bufconn.Listen(1 << 20)}
	s.srv = grpc.NewServer(grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		s.calls.Add(1)
		if s.failFirst.Add(-1) >= 0 {
			return nil, status.Error(codes.Unavailable, "down")
		}
		return handler(ctx, req)
	}))
	healthpb.RegisterHealthServer(s.srv, health.NewServer())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.srv.Serve(s.lis) }()
	tb.Cleanup(func() { s.srv.Stop(); <-done })
	return s
}

// client dials the server with interceptor, if not nil.
func (s *grpcServer) client(tb testing.TB, interceptor grpc.UnaryClientInterceptor) healthpb.HealthClient {
	tb.Helper()
	opts := []grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return s.lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDisableRetry(),
	}
	if interceptor != nil {
		opts = append(opts, grpc.WithUnaryInterceptor(interceptor))
	}
	conn, err := grpc.NewClient("passthrough:///bufnet", opts...)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = conn.Close() })
	return healthpb.NewHealthClient(conn)
}

// grpcPeers are the interceptors side by side; nil is the bare call.
func grpcPeers() []struct {
	name        string
	interceptor func() grpc.UnaryClientInterceptor
} {
	return []struct {
		name        string
		interceptor func() grpc.UnaryClientInterceptor
	}{
		{"bare", func() grpc.UnaryClientInterceptor { return nil }},
		{"bulwark", bulwarkGRPC},
		{"failsafe-go", failsafeGRPC},
		{"go-grpc-middleware", middlewareGRPC},
	}
}

func benchGRPC(b *testing.B, parallel bool) {
	for _, p := range grpcPeers() {
		b.Run(p.name, func(b *testing.B) {
			s := startGRPC(b)
			c := s.client(b, p.interceptor())
			req := &healthpb.HealthCheckRequest{}
			if _, err := c.Check(context.Background(), req); err != nil { // connect outside the timing
				b.Fatal(err)
			}
			b.ReportAllocs()
			if parallel {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := c.Check(context.Background(), req); err != nil {
							b.Error(err)
							return
						}
					}
				})
				return
			}
			for b.Loop() {
				if _, err := c.Check(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGRPCUnary: a successful unary call over bufconn.
func BenchmarkGRPCUnary(b *testing.B) { benchGRPC(b, false) }

func BenchmarkGRPCUnaryParallel(b *testing.B) { benchGRPC(b, true) }

// BenchmarkGRPCUnaryInterleaved makes one call through every peer in turn
// on each iteration, on clients of one server, and reports each peer's mean
// time per call and its ratio to the bare call's: the machine's noise,
// which moves whole runs by 30% here, falls on every peer alike.
func BenchmarkGRPCUnaryInterleaved(b *testing.B) {
	peers := grpcPeers()
	s := startGRPC(b)
	clients := make([]healthpb.HealthClient, len(peers))
	req := &healthpb.HealthCheckRequest{}
	for i, p := range peers {
		clients[i] = s.client(b, p.interceptor())
		if _, err := clients[i].Check(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
	spent := make([]time.Duration, len(peers))
	b.ReportAllocs()
	for b.Loop() {
		for i, c := range clients {
			start := time.Now()
			if _, err := c.Check(context.Background(), req); err != nil {
				b.Fatal(err)
			}
			spent[i] += time.Since(start)
		}
	}
	for i, p := range peers {
		b.ReportMetric(float64(spent[i].Nanoseconds())/float64(b.N), p.name+"-ns/call")
		if i > 0 {
			b.ReportMetric(float64(spent[i])/float64(spent[0]), p.name+"/bare")
		}
	}
}

// BenchmarkGRPCInterceptorOnly is each interceptor's own work on a
// successful call: the interceptor run with an invoker that does nothing.
// Its time, added to the bare call's, is the interceptor's share of a real
// call, measured with far less noise than the difference of two calls.
func BenchmarkGRPCInterceptorOnly(b *testing.B) {
	invoker := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return nil }
	req, reply := &healthpb.HealthCheckRequest{}, &healthpb.HealthCheckResponse{}
	for _, p := range grpcPeers()[1:] {
		b.Run(p.name, func(b *testing.B) {
			call := p.interceptor()
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := call(ctx, grpcCheck, req, reply, nil, invoker); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestGRPCHarnessesRetry checks that every interceptor of the benchmark
// really retries an Unavailable, so that no figure measures a harness that
// skips the work.
func TestGRPCHarnessesRetry(t *testing.T) {
	for _, p := range grpcPeers()[1:] {
		t.Run(p.name, func(t *testing.T) {
			s := startGRPC(t)
			c := s.client(t, p.interceptor())
			s.failFirst.Store(2)
			_, err := c.Check(context.Background(), &healthpb.HealthCheckRequest{})
			require.NoError(t, err)
			assert.Equal(t, int32(3), s.calls.Load())
		})
	}
}
