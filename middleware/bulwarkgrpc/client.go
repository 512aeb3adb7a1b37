package bulwarkgrpc

import (
	"context"
	"sync/atomic"

	"github.com/bulwark-go/bulwark"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// UnaryClientInterceptor returns an interceptor that runs every unary call
// through p (or the policy WithMethodPolicies / WithMethodPolicy picks for
// its method): each attempt of p is one call of the invoker. The error an
// attempt ends with is classified for p as the package documentation says;
// the caller gets a status error, the attempt's own when the dependency
// answered. It panics if p is nil or an option does not apply to a unary
// client interceptor.
func UnaryClientInterceptor(p bulwark.Policy, opts ...Option) grpc.UnaryClientInterceptor {
	c := newConfig(unaryClient, p, opts)
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		call := &unaryCall{c: c, method: method, req: req, reply: reply, cc: cc, invoker: invoker}
		call.setOptions(opts)
		return clientError(c.policyFor(method).Execute(ctx, call.run))
	}
}

// unaryCall is one call through the interceptor: one allocation for what
// every attempt needs, the trailer grpc fills included.
type unaryCall struct {
	c       *config
	method  string
	req     any
	reply   any
	cc      *grpc.ClientConn
	invoker grpc.UnaryInvoker
	opts    []grpc.CallOption
	trailer *metadata.MD // where grpc puts the attempt's trailer: the caller's, or md
	md      metadata.MD
	running atomic.Bool
	buf     [4]grpc.CallOption
}

// errConcurrentAttempt refuses an attempt of a call while another runs.
var errConcurrentAttempt = status.Error(codes.FailedPrecondition,
	"bulwark/bulwarkgrpc: one attempt at a time: a gRPC call cannot be hedged, nor retried while an abandoned attempt runs")

// setOptions arranges for the trailer of each attempt to be read, for its
// pushback: through the caller's own grpc.Trailer option if it gave one,
// else through one added to the caller's options.
func (u *unaryCall) setOptions(opts []grpc.CallOption) {
	for _, o := range opts {
		if t, ok := o.(grpc.TrailerCallOption); ok && t.TrailerAddr != nil {
			u.opts, u.trailer = opts, t.TrailerAddr
			return
		}
	}
	u.trailer = &u.md
	if len(opts) < len(u.buf) {
		u.opts = append(u.buf[:0], opts...)
	} else {
		u.opts = append(make([]grpc.CallOption, 0, len(opts)+1), opts...)
	}
	u.opts = append(u.opts, grpc.Trailer(u.trailer))
}

func (u *unaryCall) run(ctx context.Context) error {
	// Attempts of one call share the reply message and the trailer, so
	// they run one at a time: a hedge, or a retry around an abandoning
	// timeout whose attempt still runs, is refused rather than let two
	// attempts write the reply at once.
	if !u.running.CompareAndSwap(false, true) {
		return bulwark.Permanent(errConcurrentAttempt)
	}
	defer u.running.Store(false)
	*u.trailer = nil
	err := u.invoker(ctx, u.method, u.req, u.reply, u.cc, u.opts...)
	if err == nil {
		return nil
	}
	return u.c.outcome(ctx, u.method, err, (*u.trailer)[PushbackKey], true)
}
