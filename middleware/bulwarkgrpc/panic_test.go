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
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// panicky is a client interceptor inside bulwark's that panics at one
// point of a call: "invoke" (unary), or for a stream "open", "send",
// "close", "header" or "recv".
func panicky(at string) []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			if at == "invoke" {
				panic("boom invoke")
			}
			return invoker(ctx, method, req, reply, cc, opts...)
		}),
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			if at == "open" {
				panic("boom open")
			}
			cs, err := streamer(ctx, desc, cc, method, opts...)
			if err != nil {
				return nil, err
			}
			return &panicStream{ClientStream: cs, at: at}, nil
		}),
	}
}

type panicStream struct {
	grpc.ClientStream
	at string
}

func (s *panicStream) SendMsg(m any) error {
	if s.at == "send" {
		panic("boom send")
	}
	return s.ClientStream.SendMsg(m)
}

func (s *panicStream) CloseSend() error {
	if s.at == "close" {
		panic("boom close")
	}
	return s.ClientStream.CloseSend()
}

func (s *panicStream) Header() (metadata.MD, error) {
	if s.at == "header" {
		panic("boom header")
	}
	return s.ClientStream.Header()
}

func (s *panicStream) RecvMsg(m any) error {
	if s.at == "recv" {
		panic("boom recv")
	}
	return s.ClientStream.RecvMsg(m)
}

func TestUnaryPanicGoesOnAfterThePermitIsBack(t *testing.T) {
	bh := bulkhead.New(1)
	p := bulwark.New(retry.New(retry.WithDelay(0)), bh)
	opts := append([]grpc.DialOption{grpc.WithChainUnaryInterceptor(bulwarkgrpc.UnaryClientInterceptor(p, bulwarkgrpc.WithIdempotent(checkMethod)))}, panicky("invoke")...)
	e := newEnv(t, nil, opts...)
	v := recoverFrom(func() { _, _ = check(t.Context(), e, "svc") })
	assert.Equal(t, "boom invoke", v)
	assert.Zero(t, bh.Snapshot().InFlight)
}

// A panic at any point of a stream goes on, unchanged, on the caller's
// goroutine, once the policy released the stream's permit; the breaker
// counts it as a failure. Nothing is left running.
func TestStreamPanicAtEveryPoint(t *testing.T) {
	for _, at := range []string{"open", "send", "close", "header", "recv"} {
		t.Run(at, func(t *testing.T) {
			t.Run("hosted", func(t *testing.T) {
				bh := bulkhead.New(1)
				p := bulwark.New(retry.New(retry.WithDelay(0)), bh)
				opts := append([]grpc.DialOption{grpc.WithChainStreamInterceptor(bulwarkgrpc.StreamClientInterceptor(p, bulwarkgrpc.WithIdempotent(watchMethod)))}, panicky(at)...)
				e := newEnv(t, nil, opts...)
				runPanickingStream(t, e, at)
				assert.Zero(t, bh.Snapshot().InFlight, "the permit is back")

				// The bulkhead serves the next stream.
				e2 := newEnv(t, nil, grpc.WithChainStreamInterceptor(bulwarkgrpc.StreamClientInterceptor(p)))
				ctx, cancel := context.WithCancel(t.Context())
				s, err := watch(ctx, e2, "svc")
				require.NoError(t, err)
				recvStatus(t, s)
				cancel()
				_, _ = s.Recv()
				e.close()
				e2.close()
				goleak.VerifyNone(t)
			})
			t.Run("breaker", func(t *testing.T) {
				b := breaker.New(breaker.WithConsecutiveFailures(1), breaker.WithOpenDuration(time.Hour))
				opts := append([]grpc.DialOption{grpc.WithChainStreamInterceptor(bulwarkgrpc.StreamClientInterceptor(b))}, panicky(at)...)
				e := newEnv(t, nil, opts...)
				runPanickingStream(t, e, at)
				assert.Equal(t, breaker.Open, b.State(), "a panic is a failure")
				e.close()
				goleak.VerifyNone(t)
			})
		})
	}
}

func runPanickingStream(t *testing.T, e *env, at string) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	v := recoverFrom(func() {
		s, err := watch(ctx, e, "svc")
		require.NoError(t, err)
		if at == "header" {
			_, _ = s.Header()
		}
		_, _ = s.Recv()
	})
	assert.Equal(t, "boom "+at, v, "the panic goes on unchanged")
}
