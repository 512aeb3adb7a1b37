package bulwarkgrpc_test

import (
	"context"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/middleware/bulwarkgrpc"
	"github.com/bulwark-go/bulwark/retry"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// BenchmarkUnaryClientInterceptor is the interceptor's own work on a
// successful call, with an invoker that does nothing.
func BenchmarkUnaryClientInterceptor(b *testing.B) {
	invoker := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return nil }
	for name, p := range map[string]bulwark.Policy{
		"breaker":       breaker.New(),
		"retry+breaker": bulwark.New(retry.New(), breaker.New()),
	} {
		b.Run(name, func(b *testing.B) {
			call := bulwarkgrpc.UnaryClientInterceptor(p, bulwarkgrpc.WithIdempotent(checkMethod))
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				_ = call(ctx, checkMethod, nil, nil, nil, invoker)
			}
		})
	}
}

// BenchmarkStream opens a Watch stream over bufconn, receives its first
// message and cancels it: bare, through a breaker alone (Acquire/Done, no
// goroutine) and through a pipeline (one goroutine per stream).
func BenchmarkStream(b *testing.B) {
	for _, tc := range []struct {
		name string
		p    bulwark.Policy
	}{
		{"bare", nil},
		{"breaker", breaker.New()},
		{"retry+bulkhead", bulwark.New(retry.New(), bulkhead.New(64))},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var opts []grpc.DialOption
			if tc.p != nil {
				opts = append(opts, grpc.WithChainStreamInterceptor(bulwarkgrpc.StreamClientInterceptor(tc.p, bulwarkgrpc.WithIdempotent(watchMethod))))
			}
			e := newEnv(b, nil, opts...)
			req := &healthpb.HealthCheckRequest{}
			b.ReportAllocs()
			for b.Loop() {
				ctx, cancel := context.WithCancel(context.Background())
				s, err := e.client.Watch(ctx, req)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.Recv(); err != nil {
					b.Fatal(err)
				}
				cancel()
				_, _ = s.Recv()
			}
		})
	}
}
