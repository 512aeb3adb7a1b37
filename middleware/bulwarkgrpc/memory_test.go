package bulwarkgrpc_test

import (
	"context"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/middleware/bulwarkgrpc"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/stretchr/testify/assert"
	"google.golang.org/grpc"
)

// The success path of a unary call adds two allocations to grpc's own:
// the call's state (the trailer grpc fills, for its pushback, included)
// and the function handed to the policy. Measured against an invoker that
// does nothing, so grpc's own allocations are not counted.
func TestUnaryClientSuccessPathAllocations(t *testing.T) {
	p := bulwark.New(retry.New(), breaker.New())
	call := bulwarkgrpc.UnaryClientInterceptor(p, bulwarkgrpc.WithIdempotent(checkMethod))
	invoker := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return nil }
	ctx := context.Background()
	allocs := testing.AllocsPerRun(1000, func() {
		_ = call(ctx, checkMethod, nil, nil, nil, invoker)
	})
	assert.Equal(t, 2.0, allocs)
	t.Logf("allocations a unary call adds: %v", allocs)
}

func TestServerSuccessPathAllocations(t *testing.T) {
	p := bulwark.New(breaker.New())
	call := bulwarkgrpc.UnaryServerInterceptor(p)
	handler := func(context.Context, any) (any, error) { return nil, nil }
	info := &grpc.UnaryServerInfo{FullMethod: checkMethod}
	ctx := context.Background()
	allocs := testing.AllocsPerRun(1000, func() { _, _ = call(ctx, nil, info, handler) })
	assert.Equal(t, 2.0, allocs)
}

type interceptors struct {
	uc grpc.UnaryClientInterceptor
	sc grpc.StreamClientInterceptor
	us grpc.UnaryServerInterceptor
	ss grpc.StreamServerInterceptor
}

func buildInterceptors(p bulwark.Policy) *interceptors {
	opt := bulwarkgrpc.WithIdempotent(checkMethod, watchMethod)
	return &interceptors{
		uc: bulwarkgrpc.UnaryClientInterceptor(p, opt),
		sc: bulwarkgrpc.StreamClientInterceptor(p, opt),
		us: bulwarkgrpc.UnaryServerInterceptor(p, opt),
		ss: bulwarkgrpc.StreamServerInterceptor(p, opt),
	}
}

// The interceptors hold their policy and a small configuration, and
// nothing global keeps them or their policy alive.
func TestInterceptorMemory(t *testing.T) {
	shared := breaker.New()
	per := otest.HeapPerInstance(1000, func() *interceptors { return buildInterceptors(shared) })
	t.Logf("bytes for the four interceptors of one policy, WithIdempotent of two methods: %.0f", per)
	assert.Less(t, per, 2048.0)

	use := func(i *interceptors) {
		_ = i.uc(context.Background(), checkMethod, nil, nil, nil,
			func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return nil })
	}
	assert.True(t, otest.Collected(func() *interceptors { return buildInterceptors(breaker.New()) }, use),
		"with the global meter provider")
	m := otest.NewMeter()
	assert.True(t, otest.Collected(func() *interceptors {
		return buildInterceptors(breaker.New(breaker.WithMeterProvider(m.MeterProvider)))
	}, use), "with an SDK meter provider")
}
