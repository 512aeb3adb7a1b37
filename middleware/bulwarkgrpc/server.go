package bulwarkgrpc

import (
	"context"
	"net"
	"sync"
	"sync/atomic"

	"github.com/bulwark-go/bulwark"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// UnaryServerInterceptor returns an interceptor that runs every unary
// handler through p (or the policy WithMethodPolicies / WithMethodPolicy
// picks for its method). The handler's own errors reach the client
// unchanged; the policies' rejections become status errors as the package
// documentation says, with the grpc-retry-pushback-ms trailer when they
// carry a hint. A handler panic goes on once every policy released what it
// holds, unless WithRecovery is given. It panics if p is nil or an option
// does not apply to a server interceptor.
func UnaryServerInterceptor(p bulwark.Policy, opts ...Option) grpc.UnaryServerInterceptor {
	c := newConfig(unaryServer, p, opts)
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if c.recovery == nil {
			return c.serveUnary(ctx, req, info, handler)
		}
		var resp any
		err := c.recovering(ctx, func() (err error) {
			resp, err = c.serveUnary(ctx, req, info, handler)
			return err
		})
		if err != nil {
			return nil, err
		}
		return resp, nil
	}
}

func (c *config) serveUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	call := &serverCall{c: c, method: info.FullMethod, req: req, handler: handler}
	if err := c.policyFor(info.FullMethod).Execute(ctx, call.run); err != nil {
		return nil, serverError(err, func(md metadata.MD) { _ = grpc.SetTrailer(ctx, md) })
	}
	call.mu.Lock() // an abandoning timeout may leave a handler running
	defer call.mu.Unlock()
	return call.resp, nil
}

// recovering runs serve and returns its error, or the error c.recovered
// makes of a panic in it. f (WithRecovery's function) runs in the deferred
// function, while the panicking frames are still on the stack, so that a
// debug.Stack in f shows where the panic was raised. The call returned or
// it did not, which a flag tells: recover returns nil both during a
// runtime.Goexit, which goes on once the deferred function returns, and
// for panic(nil) under GODEBUG=panicnil=1, which it stops. The inner
// function then returns, which it never does in a Goexit, so that is
// where a nil panic becomes an error and a Goexit never reaches f.
func (c *config) recovering(ctx context.Context, serve func() error) (err error) {
	nilPanic := false
	func() {
		returned := false
		defer func() {
			if returned {
				return
			}
			if r := recover(); r != nil {
				err = c.recovered(ctx, r)
			} else {
				nilPanic = true
			}
		}()
		err = serve()
		returned = true
	}()
	if nilPanic {
		return c.recovered(ctx, nil)
	}
	return err
}

type serverCall struct {
	c       *config
	method  string
	req     any
	handler grpc.UnaryHandler
	mu      sync.Mutex // a hedge may run the handler twice at once
	resp    any
}

func (s *serverCall) run(ctx context.Context) error {
	resp, err := s.handler(ctx, s.req)
	if err != nil {
		return s.c.outcome(ctx, s.method, err, nil, true)
	}
	s.mu.Lock()
	s.resp = resp
	s.mu.Unlock()
	return nil
}

// StreamServerInterceptor returns an interceptor that runs every stream
// handler through p (or the policy picked for its method), so that a
// bulkhead permit or a breaker's probe is held for the whole stream. A
// stream handler is never run twice: it has read the client's messages,
// which cannot be read again, so every error it returns is marked
// bulwark.Permanent for p. Errors, rejections and panics are handled as by
// UnaryServerInterceptor. It panics if p is nil or an option does not apply
// to a server interceptor.
func StreamServerInterceptor(p bulwark.Policy, opts ...Option) grpc.StreamServerInterceptor {
	c := newConfig(streamServer, p, opts)
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if c.recovery == nil {
			return c.serveStream(srv, ss, info, handler)
		}
		return c.recovering(ss.Context(), func() error { return c.serveStream(srv, ss, info, handler) })
	}
}

func (c *config) serveStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	call := &serverStreamCall{c: c, method: info.FullMethod, srv: srv, ss: ss, handler: handler}
	if err := c.policyFor(info.FullMethod).Execute(ss.Context(), call.run); err != nil {
		return serverError(err, ss.SetTrailer)
	}
	return nil
}

type serverStreamCall struct {
	c       *config
	method  string
	srv     any
	ss      grpc.ServerStream
	handler grpc.StreamHandler
	ran     atomic.Bool
}

// errRunTwice refuses a second run of a stream handler (a hedge, or a
// policy that retries what is marked Permanent).
var errRunTwice = status.Error(codes.FailedPrecondition, "bulwark/bulwarkgrpc: a stream handler runs once: it cannot be hedged or retried")

func (s *serverStreamCall) run(ctx context.Context) error {
	if !s.ran.CompareAndSwap(false, true) {
		return bulwark.Permanent(errRunTwice)
	}
	ss := s.ss
	if ctx != ss.Context() {
		ss = &serverStream{ServerStream: ss, ctx: ctx} // a policy's deadline, for the handler
	}
	return s.c.outcome(ctx, s.method, s.handler(s.srv, ss), nil, false)
}

// serverStream hands the handler the context the policy ran it with.
type serverStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *serverStream) Context() context.Context { return s.ctx }

// recovered is the error a recovered handler panic becomes.
func (c *config) recovered(ctx context.Context, p any) error {
	err := c.recovery(ctx, p)
	if err == nil {
		return status.Error(codes.Internal, "bulwark/bulwarkgrpc: handler panicked")
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	return newStatusError(status.New(codes.Internal, err.Error()), err)
}

// PeerKey returns the host of the peer that made the call in ctx (the IP
// address of a TCP peer, without its port, since each connection has a
// port of its own; the address's own text for other transports), or "" if
// ctx is not a server call's. It is a key function for keyed limits on the
// server:
//
//	limit := ratelimit.NewKeyed(100, 20, bulwarkgrpc.PeerKey)
//	grpc.NewServer(grpc.UnaryInterceptor(bulwarkgrpc.UnaryServerInterceptor(limit)))
//
// Behind a proxy every call has the proxy's address: key by a metadata key
// the proxy sets instead (MetadataKey).
func PeerKey(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return ""
	}
	if tcp, ok := p.Addr.(*net.TCPAddr); ok {
		return tcp.IP.String()
	}
	addr := p.Addr.String()
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// MetadataKey returns a key function for keyed limits on the server that
// reads the first value of the incoming metadata key name ("x-tenant-id"),
// or "" when the call has none. Metadata keys are case-insensitive.
// It panics if name is empty.
func MetadataKey(name string) func(ctx context.Context) string {
	if name == "" {
		panic("bulwark/bulwarkgrpc: MetadataKey: name must not be empty, got \"\"")
	}
	return func(ctx context.Context) string {
		if vs := metadata.ValueFromIncomingContext(ctx, name); len(vs) > 0 {
			return vs[0]
		}
		return ""
	}
}
