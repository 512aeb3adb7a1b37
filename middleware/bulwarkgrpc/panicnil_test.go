package bulwarkgrpc_test

import (
	"context"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/bulwark-go/bulwark/middleware/bulwarkgrpc"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// WithRecovery turns a handler's panic(nil) into an error as it does any
// panic: f receives nil, the client gets Internal, never a success with a
// nil reply; the breaker counts a failure.
func TestServerWithRecoveryPanicNilUnderGODEBUGPanicnil(t *testing.T) {
	testutil.SetPanicnil(t)
	bh := bulkhead.New(1)
	b := breaker.New(breaker.WithConsecutiveFailures(2), breaker.WithOpenDuration(time.Hour))
	var got []any
	rec := bulwarkgrpc.WithRecovery(func(_ context.Context, p any) error {
		got = append(got, p)
		return nil
	})
	p := bulwark.New(b, bh)

	call := bulwarkgrpc.UnaryServerInterceptor(p, rec)
	resp, err := call(t.Context(), nil, &grpc.UnaryServerInfo{FullMethod: checkMethod},
		func(context.Context, any) (any, error) { panic(nil) })
	assert.Nil(t, resp)
	assert.Equal(t, codes.Internal, status.Code(err), "%v", err)

	scall := bulwarkgrpc.StreamServerInterceptor(p, rec)
	err = scall(nil, fakeServerStream{ctx: t.Context()}, &grpc.StreamServerInfo{FullMethod: watchMethod},
		func(any, grpc.ServerStream) error { panic(nil) })
	assert.Equal(t, codes.Internal, status.Code(err), "%v", err)

	assert.Equal(t, []any{nil, nil}, got, "f received both panics")
	assert.Zero(t, bh.Snapshot().InFlight)
	assert.Equal(t, breaker.Open, b.State(), "two panics, two failures")
}

// A runtime.Goexit in a handler goes on through WithRecovery, with
// panicnil=1 or without: f does not run, and the interceptor does not
// return.
func TestServerWithRecoveryLetsGoexitGoOn(t *testing.T) {
	for _, godebug := range []string{"", "panicnil=1"} {
		t.Run("GODEBUG="+godebug, func(t *testing.T) {
			if godebug != "" {
				testutil.SetPanicnil(t)
			}
			bh := bulkhead.New(1)
			var got []any
			rec := bulwarkgrpc.WithRecovery(func(_ context.Context, p any) error {
				got = append(got, p)
				return nil
			})
			call := bulwarkgrpc.UnaryServerInterceptor(bh, rec)
			assert.Equal(t, testutil.Ending{Exited: true}, testutil.EndOf(func() error {
				_, err := call(t.Context(), nil, &grpc.UnaryServerInfo{FullMethod: checkMethod},
					func(context.Context, any) (any, error) { runtime.Goexit(); return nil, nil })
				return err
			}))
			scall := bulwarkgrpc.StreamServerInterceptor(bh, rec)
			assert.Equal(t, testutil.Ending{Exited: true}, testutil.EndOf(func() error {
				return scall(nil, fakeServerStream{ctx: t.Context()}, &grpc.StreamServerInfo{FullMethod: watchMethod},
					func(any, grpc.ServerStream) error { runtime.Goexit(); return nil })
			}))
			assert.Empty(t, got)
			assert.Zero(t, bh.Snapshot().InFlight)
		})
	}
}

// opening is a client interceptor inside bulwark's that ends the opening
// of every stream with end, on the goroutine that hosts the stream's
// policy.
func opening(end func()) grpc.DialOption {
	return grpc.WithChainStreamInterceptor(func(context.Context, *grpc.StreamDesc, *grpc.ClientConn, string, grpc.Streamer, ...grpc.CallOption) (grpc.ClientStream, error) {
		end()
		return nil, nil
	})
}

// A panic(nil) on the goroutine that hosts a stream's policy is raised
// again on the caller's, as any panic is, and is not taken for that
// goroutine's runtime.Goexit.
func TestStreamPanicNilUnderGODEBUGPanicnil(t *testing.T) {
	testutil.SetPanicnil(t)
	bh := bulkhead.New(1)
	p := bulwark.New(retry.New(retry.WithDelay(0)), bh)
	e := newEnv(t, nil, grpc.WithChainStreamInterceptor(bulwarkgrpc.StreamClientInterceptor(p, bulwarkgrpc.WithIdempotent(watchMethod))),
		opening(func() { panic(nil) }))
	got := testutil.EndOf(func() error {
		_, err := watch(t.Context(), e, "svc")
		return err
	})
	assert.Equal(t, testutil.Ending{Panicked: true}, got, "panic(nil) reaches the caller as panic(nil)")
	assert.Zero(t, bh.Snapshot().InFlight)
	e.close()
	goleak.VerifyNone(t)
}

// A runtime.Goexit there ends that goroutine only: the caller gets an
// Internal error, with panicnil=1 or without.
func TestStreamGoexitInTheOpening(t *testing.T) {
	for _, godebug := range []string{"", "panicnil=1"} {
		t.Run("GODEBUG="+godebug, func(t *testing.T) {
			if godebug != "" {
				testutil.SetPanicnil(t)
			}
			bh := bulkhead.New(1)
			p := bulwark.New(retry.New(retry.WithDelay(0)), bh)
			e := newEnv(t, nil, grpc.WithChainStreamInterceptor(bulwarkgrpc.StreamClientInterceptor(p, bulwarkgrpc.WithIdempotent(watchMethod))),
				opening(runtime.Goexit))
			got := testutil.EndOf(func() error {
				_, err := watch(t.Context(), e, "svc")
				return err
			})
			require.True(t, got.Returned, "%+v", got)
			assert.Equal(t, codes.Internal, status.Code(got.Err))
			assert.Contains(t, got.Err.Error(), "exited")
			assert.Zero(t, bh.Snapshot().InFlight)
			e.close()
			goleak.VerifyNone(t)
		})
	}
}

// WithRecovery's function runs while the panicking frames are still on
// the stack, so that it can log where the panic was raised.
func TestServerWithRecoverySeesThePanickingStack(t *testing.T) {
	var stack string
	rec := bulwarkgrpc.WithRecovery(func(context.Context, any) error {
		stack = string(debug.Stack())
		return nil
	})
	call := bulwarkgrpc.UnaryServerInterceptor(bulkhead.New(1), rec)
	_, err := call(t.Context(), nil, &grpc.UnaryServerInfo{FullMethod: checkMethod}, panickingHandler)
	assert.Equal(t, codes.Internal, status.Code(err))
	assert.Contains(t, stack, "panickingHandler")
}

func panickingHandler(context.Context, any) (any, error) { panic("handler boom") }
