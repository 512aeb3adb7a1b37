package bulwarkgrpc_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/middleware/bulwarkgrpc"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

// startHealth serves grpc-go's health service on an in-memory listener,
// behind the given server options, and returns a dial option for it.
func startHealth(opts ...grpc.ServerOption) (dial grpc.DialOption, stop func()) {
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(opts...)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(lis) }()
	return grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }), srv.Stop
}

func Example() {
	// The server: a rate limit of two calls, and a first call that fails
	// as an overloaded server's would.
	var calls atomic.Int32
	flaky := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if calls.Add(1) == 1 {
			return nil, status.Error(codes.Unavailable, "warming up")
		}
		return handler(ctx, req)
	}
	limit := ratelimit.New(1e-3, 2)
	dial, stop := startHealth(grpc.ChainUnaryInterceptor(bulwarkgrpc.UnaryServerInterceptor(limit), flaky))
	defer stop()

	// The client: retries of an idempotent method, and a breaker that
	// learns the gRPC codes.
	p := bulwark.New(
		retry.New(retry.WithMaxAttempts(3), retry.WithDelay(10*time.Millisecond)),
		breaker.New(breaker.WithFailureIf(bulwarkgrpc.IsFailure)),
	)
	conn, err := grpc.NewClient("passthrough:///health", dial,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDisableRetry(),
		grpc.WithChainUnaryInterceptor(bulwarkgrpc.UnaryClientInterceptor(p,
			bulwarkgrpc.WithIdempotent("/grpc.health.v1.Health/Check"))))
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)

	resp, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{})
	fmt.Println(resp.GetStatus(), err, "after", calls.Load(), "attempts")

	// The server's limit is spent: it answers ResourceExhausted with a
	// pushback of about 1000s, which does not fit the caller's deadline,
	// so the retry gives up at once.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err = client.Check(ctx, &healthpb.HealthCheckRequest{})
	fmt.Println(status.Code(err), errors.Is(err, retry.ErrExhausted))
	// Output:
	// SERVING <nil> after 2 attempts
	// ResourceExhausted true
}

func ExampleStreamClientInterceptor() {
	dial, stop := startHealth()
	defer stop()
	streams := bulkhead.New(1) // one Watch at a time
	conn, err := grpc.NewClient("passthrough:///health", dial,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainStreamInterceptor(bulwarkgrpc.StreamClientInterceptor(streams)))
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)

	ctx, cancel := context.WithCancel(context.Background())
	watch, err := client.Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		panic(err)
	}
	m, _ := watch.Recv()
	fmt.Println(m.GetStatus(), streams.Snapshot().InFlight)

	_, err = client.Watch(context.Background(), &healthpb.HealthCheckRequest{})
	fmt.Println(status.Code(err))

	cancel()
	_, err = watch.Recv()
	fmt.Println(status.Code(err), streams.Snapshot().InFlight)
	// Output:
	// SERVING 1
	// Unavailable
	// Canceled 0
}
