package bulwarkgrpc

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"strings"

	"github.com/bulwark-go/bulwark"
	"google.golang.org/grpc/codes"
)

// Option configures an interceptor. The client interceptors take the same
// options, so one list serves both; an option of the other side
// (WithRecovery on a client, WithMaxReplay on a server) makes the
// constructor panic. A nil Option is ignored.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// kind is the interceptor a config is built for.
type kind uint8

const (
	unaryClient kind = iota
	streamClient
	unaryServer
	streamServer
)

var kindNames = [...]string{"UnaryClientInterceptor", "StreamClientInterceptor", "UnaryServerInterceptor", "StreamServerInterceptor"}

func (k kind) String() string { return kindNames[k] }

func (k kind) server() bool { return k == unaryServer || k == streamServer }

// codeSet is a set of status codes; every code grpc defines is below 32.
type codeSet uint32

func (s codeSet) has(c codes.Code) bool { return c < 32 && s&(1<<c) != 0 }

// defaultFailures are the codes that say the dependency failed, rather
// than answered: the default of WithFailureCodes.
const defaultFailures = codeSet(1<<codes.Unavailable | 1<<codes.Internal | 1<<codes.DeadlineExceeded |
	1<<codes.Unknown | 1<<codes.DataLoss)

// defaultMaxReplay is the default of WithMaxReplay.
const defaultMaxReplay = 16

type config struct {
	kind         kind
	policy       bulwark.Policy
	perMethod    func(fullMethod string) bulwark.Policy
	idempotent   map[string]struct{}
	idempotentIf func(fullMethod string) bool
	failures     codeSet
	maxReplay    int
	replaySet    bool
	recovery     func(ctx context.Context, p any) error
}

func newConfig(k kind, p bulwark.Policy, opts []Option) *config {
	if isNil(p) {
		panic("bulwark/bulwarkgrpc: " + k.String() + ": policy must not be nil")
	}
	c := &config{kind: k, policy: p, failures: defaultFailures, maxReplay: defaultMaxReplay}
	for _, o := range opts {
		if o != nil {
			o.apply(c)
		}
	}
	if c.recovery != nil && !k.server() {
		panic("bulwark/bulwarkgrpc: WithRecovery: applies to server interceptors only, got " + k.String())
	}
	if c.replaySet && k.server() {
		panic("bulwark/bulwarkgrpc: WithMaxReplay: applies to client interceptors only, got " + k.String())
	}
	return c
}

// isNil reports whether p is nil or a nil pointer (a *breaker.Breaker that
// was never built), which would fail on the first call instead of here.
func isNil(p bulwark.Policy) bool {
	if p == nil {
		return true
	}
	v := reflect.ValueOf(p)
	switch v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Func, reflect.Chan, reflect.Slice, reflect.Interface:
		return v.IsNil()
	}
	return false
}

// policyFor returns the policy of a call of fullMethod.
func (c *config) policyFor(fullMethod string) bulwark.Policy {
	if c.perMethod != nil {
		if p := c.perMethod(fullMethod); p != nil {
			return p
		}
	}
	return c.policy
}

// mayRetry reports whether fullMethod was marked idempotent.
func (c *config) mayRetry(fullMethod string) bool {
	if _, ok := c.idempotent[fullMethod]; ok {
		return true
	}
	return c.idempotentIf != nil && c.idempotentIf(fullMethod)
}

func optionPanic(option, format string, args ...any) {
	panic(fmt.Sprintf("bulwark/bulwarkgrpc: "+option+": "+format, args...))
}

// checkMethod panics unless m has the shape of a full method name,
// "/package.Service/Method", the only form grpc hands interceptors: a
// method named any other way would never match and never be retried.
func checkMethod(option, m string) {
	svc, name, ok := strings.Cut(strings.TrimPrefix(m, "/"), "/")
	if !strings.HasPrefix(m, "/") || !ok || svc == "" || name == "" || strings.Contains(name, "/") {
		optionPanic(option, "full method must look like \"/package.Service/Method\", got %q", m)
	}
}

// WithIdempotent marks the methods, by full name ("/grpc.health.v1.Health/Check"),
// whose calls may be retried: they can run twice without harm. Calls of
// other methods are never retried, whatever the policy says: every error
// they end with is marked bulwark.Permanent. Default: no method, so nothing
// is retried. Several WithIdempotent options add up. It panics if no method
// is given or a name is not of the form "/package.Service/Method".
func WithIdempotent(fullMethods ...string) Option {
	if len(fullMethods) == 0 {
		optionPanic("WithIdempotent", "no method given, got none")
	}
	set := make(map[string]struct{}, len(fullMethods))
	for _, m := range fullMethods {
		checkMethod("WithIdempotent", m)
		set[m] = struct{}{}
	}
	return optionFunc(func(c *config) {
		if c.idempotent == nil {
			c.idempotent = make(map[string]struct{}, len(set))
		}
		maps.Copy(c.idempotent, set)
	})
}

// WithIdempotentIf marks as idempotent every method for which pred, given
// the full method name, returns true, beside those of WithIdempotent;
// func(string) bool { return true } lets every method be retried. It is
// asked only when a call fails with an error worth retrying. Default: none.
// A later WithIdempotentIf replaces an earlier one. It panics if pred is nil.
func WithIdempotentIf(pred func(fullMethod string) bool) Option {
	if pred == nil {
		optionPanic("WithIdempotentIf", "predicate must not be nil, got nil")
	}
	return optionFunc(func(c *config) { c.idempotentIf = pred })
}

// WithMethodPolicies gives the methods named by full name a policy of
// their own, used instead of the interceptor's; the other methods use the
// interceptor's policy. The map is copied. Default: none. A later
// WithMethodPolicies or WithMethodPolicy replaces an earlier one. It
// panics if a name is not of the form "/package.Service/Method" or a
// policy is nil.
func WithMethodPolicies(policies map[string]bulwark.Policy) Option {
	m := maps.Clone(policies)
	for name, p := range m {
		checkMethod("WithMethodPolicies", name)
		if isNil(p) {
			optionPanic("WithMethodPolicies", "policy for %q must not be nil, got nil", name)
		}
	}
	return optionFunc(func(c *config) {
		c.perMethod = func(fullMethod string) bulwark.Policy { return m[fullMethod] }
	})
}

// WithMethodPolicy picks the policy of each call by its full method name:
// pick returns the policy to use, or nil for the interceptor's own. It is
// called on every call, so it should be a lookup, not a constructor: a
// policy built per call keeps no state across calls. Default: none.
// A later WithMethodPolicy or WithMethodPolicies replaces an earlier one.
// It panics if pick is nil.
func WithMethodPolicy(pick func(fullMethod string) bulwark.Policy) Option {
	if pick == nil {
		optionPanic("WithMethodPolicy", "function must not be nil, got nil")
	}
	return optionFunc(func(c *config) { c.perMethod = pick })
}

// WithFailureCodes sets the status codes that IsFailure reports as failures
// of the dependency, for the learning policies (breaker, adaptive bulkhead,
// throttler) given IsFailure as their WithFailureIf. Default: Unavailable,
// Internal, DeadlineExceeded, Unknown and DataLoss; every other code is an
// answer (InvalidArgument, NotFound, AlreadyExists, PermissionDenied,
// Unauthenticated, FailedPrecondition, OutOfRange, Unimplemented,
// ResourceExhausted, Aborted, Canceled). It panics if no code is given, or
// a code is OK or unknown to grpc.
func WithFailureCodes(cs ...codes.Code) Option {
	if len(cs) == 0 {
		optionPanic("WithFailureCodes", "no code given, got none")
	}
	var set codeSet
	for _, code := range cs {
		if code == codes.OK || code > codes.Unauthenticated {
			optionPanic("WithFailureCodes", "code must be a grpc error code, got %v", code)
		}
		set |= 1 << code
	}
	return optionFunc(func(c *config) { c.failures = set })
}

// WithMaxReplay bounds the messages a client stream keeps to send again on
// a retry: once the caller has sent more than n, the stream is no longer
// retried and the messages are released. Messages are kept by reference,
// as grpc's own retry keeps them, so the caller must not change a message
// after SendMsg (grpc's rule too). It applies to client interceptors (the
// unary one, which keeps nothing, ignores it). Default: 16. 0 retries a
// stream only before its first SendMsg. It panics if n < 0.
func WithMaxReplay(n int) Option {
	if n < 0 {
		optionPanic("WithMaxReplay", "n must be >= 0, got %d", n)
	}
	return optionFunc(func(c *config) { c.maxReplay, c.replaySet = n, true })
}

// WithRecovery turns a handler panic into an error instead of letting it
// go on: the policies see the panic first (a failure for a breaker) and
// release what they hold, then f receives the panic value and returns the
// error for the client. f runs while the panicking frames are still on the
// stack (runtime/debug.Stack shows where the panic was raised), except
// for panic(nil) in a program run with GODEBUG=panicnil=1, where recover
// returns nil for it: f then runs once the stack has unwound, and receives
// nil. A runtime.Goexit is no panic: it goes on, and f does not run. A
// nil error from f, or an error that is not a status error, becomes
// Internal ("bulwark/bulwarkgrpc: handler panicked", or f's error text);
// the panic value itself never reaches the client.
// It applies to server interceptors only. Default: no recovery, the panic
// goes on unchanged (and grpc-go, which recovers nothing, crashes the
// process unless an interceptor outside recovers it). It panics if f is nil.
func WithRecovery(f func(ctx context.Context, p any) error) Option {
	if f == nil {
		optionPanic("WithRecovery", "function must not be nil, got nil")
	}
	return optionFunc(func(c *config) { c.recovery = f })
}
