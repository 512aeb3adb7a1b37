// Command grpc runs a gRPC client and server through bulwark's
// interceptors and prints what each policy did: retries of an idempotent
// call, a server rate limit per tenant with its pushback, a breaker that
// learns the gRPC codes, and a bulkhead that holds a stream's permit until
// the stream ends. It serves grpc-go's health service on 127.0.0.1 and
// exits when done.
//
//	go run ./examples/grpc
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
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
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const checkMethod = "/grpc.health.v1.Health/Check"

func main() {
	if err := run(os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// flaky is the server's trouble: its first two Check calls fail as a
// server that is starting fails, and the service "broken" always fails.
type flaky struct{ calls, broken atomic.Int32 }

func (f *flaky) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if r, ok := req.(*healthpb.HealthCheckRequest); ok && r.GetService() == "broken" {
		f.broken.Add(1)
		return nil, status.Error(codes.Internal, "disk full")
	}
	if f.calls.Add(1) <= 2 {
		return nil, status.Error(codes.Unavailable, "starting")
	}
	return handler(ctx, req)
}

func run(out io.Writer) error {
	// The server: per-tenant rate limits on unary calls (5 at once, then
	// one a second), two streams at once, and the flaky part inside.
	trouble := &flaky{}
	tenants := ratelimit.NewKeyed(1, 5, bulwarkgrpc.MetadataKey("x-tenant"))
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(bulwarkgrpc.UnaryServerInterceptor(tenants), trouble.unary),
		grpc.ChainStreamInterceptor(bulwarkgrpc.StreamServerInterceptor(bulkhead.New(2))),
	)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	defer func() { srv.Stop(); <-served }()

	// The client: unary calls retry (Check is idempotent) through a
	// breaker that learns the gRPC codes; one Watch stream at a time.
	var retries atomic.Int32
	brk := breaker.New(breaker.WithConsecutiveFailures(3), breaker.WithOpenDuration(time.Minute),
		breaker.WithFailureIf(bulwarkgrpc.IsFailure))
	calls := bulwark.New(
		retry.New(retry.WithMaxAttempts(3), retry.WithDelay(20*time.Millisecond),
			retry.WithObserver(func(_ context.Context, e bulwark.Event) {
				if e.Type == bulwark.EventRetry {
					retries.Add(1)
				}
			})),
		brk,
	)
	streams := bulkhead.New(1)
	conn, err := grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDisableRetry(), // bulwark retries, not grpc-go as well
		grpc.WithChainUnaryInterceptor(bulwarkgrpc.UnaryClientInterceptor(calls, bulwarkgrpc.WithIdempotent(checkMethod))),
		grpc.WithChainStreamInterceptor(bulwarkgrpc.StreamClientInterceptor(streams)),
	)
	if err != nil {
		return err
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// 1. The server is starting: two Unavailable, then an answer.
	resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "check: %s after %d retries\n", resp.GetStatus(), retries.Load())

	// 2. A noisy tenant exhausts its limit; the server says when to come
	// back (grpc-retry-pushback-ms), which the retry would honour, but it
	// does not fit this call's deadline, so the retry gives up at once.
	// Another tenant is not affected.
	noisy := metadata.AppendToOutgoingContext(ctx, "x-tenant", "noisy")
	for i := 1; i <= 6; i++ {
		short, stop := context.WithTimeout(noisy, 200*time.Millisecond)
		var trailer metadata.MD
		_, err := client.Check(short, &healthpb.HealthCheckRequest{}, grpc.Trailer(&trailer))
		stop()
		fmt.Fprintf(out, "tenant noisy, call %d: %s", i, status.Code(err))
		if pb := trailer.Get(bulwarkgrpc.PushbackKey); len(pb) > 0 {
			fmt.Fprintf(out, " (pushback: come back in about %ss)", roundSeconds(pb[0]))
		}
		fmt.Fprintln(out)
	}
	quiet := metadata.AppendToOutgoingContext(ctx, "x-tenant", "quiet")
	_, err = client.Check(quiet, &healthpb.HealthCheckRequest{})
	fmt.Fprintf(out, "tenant quiet: %s\n", status.Code(err))

	// 3. Internal is a failure for the breaker but is not retried: three
	// calls reach the server once each, and the breaker opens; the fourth
	// is refused on the client, as Unavailable.
	retries.Store(0)
	ops := metadata.AppendToOutgoingContext(ctx, "x-tenant", "ops")
	for i := 1; i <= 4; i++ {
		_, err := client.Check(ops, &healthpb.HealthCheckRequest{Service: "broken"})
		if errors.Is(err, breaker.ErrOpen) {
			fmt.Fprintf(out, "broken, call %d: %s (refused by the open breaker)\n", i, status.Code(err))
			continue
		}
		fmt.Fprintf(out, "broken, call %d: %s (%s)\n", i, status.Code(err), status.Convert(err).Message())
	}
	fmt.Fprintf(out, "broken: the server saw %d calls, %d retries, breaker %s\n", trouble.broken.Load(), retries.Load(), brk.State())

	// 4. A Watch stream holds the client's one stream permit until it ends.
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	watch, err := client.Watch(watchCtx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return err
	}
	m, err := watch.Recv()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "watch: %s, streams in flight: %d\n", m.GetStatus(), streams.Snapshot().InFlight)
	_, err = client.Watch(ctx, &healthpb.HealthCheckRequest{})
	fmt.Fprintf(out, "second watch: %s, bulkhead full: %t\n", status.Code(err), errors.Is(err, bulkhead.ErrFull))
	stopWatch()
	_, err = watch.Recv()
	fmt.Fprintf(out, "watch cancelled: %s, streams in flight: %d\n", status.Code(err), streams.Snapshot().InFlight)
	return nil
}

// roundSeconds turns a pushback in milliseconds into whole seconds.
func roundSeconds(ms string) string {
	d, err := time.ParseDuration(ms + "ms")
	if err != nil {
		return "?"
	}
	return fmt.Sprint(d.Round(time.Second).Seconds())
}
