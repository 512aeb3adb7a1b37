package bulwarkgrpc_test

import (
	"context"
	"testing"

	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/middleware/bulwarkgrpc"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
)

// spanHandler is a stats.Handler that does what otelgrpc's does with
// spans: one span per RPC, started in TagRPC and put in the RPC's context,
// ended with the RPC.
type spanHandler struct {
	tracer trace.Tracer
	name   string
}

func (h spanHandler) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	ctx, _ = h.tracer.Start(ctx, h.name+" "+info.FullMethodName)
	return ctx
}

func (h spanHandler) HandleRPC(ctx context.Context, s stats.RPCStats) {
	if _, ok := s.(*stats.End); ok {
		trace.SpanFromContext(ctx).End()
	}
}

func (spanHandler) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (spanHandler) HandleConn(context.Context, stats.ConnStats)                       {}

// On the server the stats handler tags the RPC before the interceptors
// run, so a policy's span events land on the stats handler's span.
func TestServerSpanEventsLandOnTheStatsHandlersSpan(t *testing.T) {
	rec, tp := otest.Tracing()
	e := newEnv(t, append(serve(bulwarkgrpc.UnaryServerInterceptor(ratelimit.New(1e-3, 1)), nil),
		grpc.StatsHandler(spanHandler{tracer: tp.Tracer("test"), name: "server"})))
	_, err := check(t.Context(), e, "svc")
	require.NoError(t, err)
	_, err = check(t.Context(), e, "svc")
	require.Equal(t, codes.ResourceExhausted, status.Code(err))
	e.srv.GracefulStop() // every RPC, its stats handler's End included, is done

	spans := rec.Ended() // in the order the RPCs ended, which may not be theirs
	require.Len(t, spans, 2)
	if len(spans[0].Events()) > 0 {
		spans[0], spans[1] = spans[1], spans[0]
	}
	assert.Empty(t, spans[0].Events(), "the admitted call")
	require.Len(t, spans[1].Events(), 1, "the rejected call")
	assert.Equal(t, "server "+checkMethod, spans[1].Name())
	assert.Equal(t, "bulwark.ratelimit.rejected", spans[1].Events()[0].Name)
}

// On the client the stats handler tags each attempt inside the invoker,
// after the interceptors ran: a policy's span events land on the caller's
// span, the parent of every attempt's span.
func TestClientSpanEventsLandOnTheCallersSpan(t *testing.T) {
	rec, tp := otest.Tracing()
	e := newEnv(t, nil,
		grpc.WithChainUnaryInterceptor(bulwarkgrpc.UnaryClientInterceptor(quickRetry(nil), bulwarkgrpc.WithIdempotent(checkMethod))),
		grpc.WithStatsHandler(spanHandler{tracer: tp.Tracer("test"), name: "attempt"}))
	e.faults.add(checkMethod, fault{code: codes.Unavailable})
	ctx, caller := tp.Tracer("test").Start(t.Context(), "caller")
	_, err := check(ctx, e, "svc")
	require.NoError(t, err)
	caller.End()

	spans := rec.Ended()
	require.Len(t, spans, 3)
	callerSpan := spans[2]
	assert.Equal(t, "caller", callerSpan.Name())
	require.Len(t, callerSpan.Events(), 1)
	assert.Equal(t, "bulwark.retry", callerSpan.Events()[0].Name)
	for _, s := range spans[:2] {
		assert.Equal(t, "attempt "+checkMethod, s.Name())
		assert.Equal(t, callerSpan.SpanContext().SpanID(), s.Parent().SpanID())
		assert.Empty(t, s.Events())
	}
}
