package bulwarkgrpc_test

import (
	"context"
	"errors"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/middleware/bulwarkgrpc"
	"github.com/bulwark-go/bulwark/timeout"
	"github.com/stretchr/testify/assert"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestBadConfigurationPanicsAtConstruction(t *testing.T) {
	var nilBreaker *breaker.Breaker
	ok := breaker.New()
	for _, tc := range []struct {
		want  string
		build func()
	}{
		{"bulwark/bulwarkgrpc: UnaryClientInterceptor: policy must not be nil", func() { bulwarkgrpc.UnaryClientInterceptor(nil) }},
		{"bulwark/bulwarkgrpc: StreamClientInterceptor: policy must not be nil", func() { bulwarkgrpc.StreamClientInterceptor(nilBreaker) }},
		{"bulwark/bulwarkgrpc: UnaryServerInterceptor: policy must not be nil", func() { bulwarkgrpc.UnaryServerInterceptor(nil) }},
		{"bulwark/bulwarkgrpc: StreamServerInterceptor: policy must not be nil", func() { bulwarkgrpc.StreamServerInterceptor((*bulwark.Pipeline)(nil)) }},
		{`bulwark/bulwarkgrpc: WithIdempotent: full method must look like "/package.Service/Method", got "Check"`, func() { bulwarkgrpc.WithIdempotent("Check") }},
		{`bulwark/bulwarkgrpc: WithIdempotent: full method must look like "/package.Service/Method", got "grpc.health.v1.Health/Check"`, func() { bulwarkgrpc.WithIdempotent("grpc.health.v1.Health/Check") }},
		{`bulwark/bulwarkgrpc: WithIdempotent: full method must look like "/package.Service/Method", got "/a/b/c"`, func() { bulwarkgrpc.WithIdempotent("/a/b/c") }},
		{"bulwark/bulwarkgrpc: WithIdempotent: no method given, got none", func() { bulwarkgrpc.WithIdempotent() }},
		{"bulwark/bulwarkgrpc: WithIdempotentIf: predicate must not be nil, got nil", func() { bulwarkgrpc.WithIdempotentIf(nil) }},
		{`bulwark/bulwarkgrpc: WithMethodPolicies: policy for "/a.B/C" must not be nil, got nil`, func() {
			bulwarkgrpc.WithMethodPolicies(map[string]bulwark.Policy{"/a.B/C": nilBreaker})
		}},
		{`bulwark/bulwarkgrpc: WithMethodPolicies: full method must look like "/package.Service/Method", got "C"`, func() {
			bulwarkgrpc.WithMethodPolicies(map[string]bulwark.Policy{"C": ok})
		}},
		{"bulwark/bulwarkgrpc: WithMethodPolicy: function must not be nil, got nil", func() { bulwarkgrpc.WithMethodPolicy(nil) }},
		{"bulwark/bulwarkgrpc: WithFailureCodes: no code given, got none", func() { bulwarkgrpc.WithFailureCodes() }},
		{"bulwark/bulwarkgrpc: WithFailureCodes: code must be a grpc error code, got OK", func() { bulwarkgrpc.WithFailureCodes(codes.OK) }},
		{"bulwark/bulwarkgrpc: WithFailureCodes: code must be a grpc error code, got Code(17)", func() { bulwarkgrpc.WithFailureCodes(17) }},
		{"bulwark/bulwarkgrpc: WithMaxReplay: n must be >= 0, got -1", func() { bulwarkgrpc.WithMaxReplay(-1) }},
		{"bulwark/bulwarkgrpc: WithRecovery: function must not be nil, got nil", func() { bulwarkgrpc.WithRecovery(nil) }},
		{"bulwark/bulwarkgrpc: WithRecovery: applies to server interceptors only, got UnaryClientInterceptor", func() {
			bulwarkgrpc.UnaryClientInterceptor(ok, bulwarkgrpc.WithRecovery(func(context.Context, any) error { return nil }))
		}},
		{"bulwark/bulwarkgrpc: WithMaxReplay: applies to client interceptors only, got StreamServerInterceptor", func() {
			bulwarkgrpc.StreamServerInterceptor(ok, bulwarkgrpc.WithMaxReplay(1))
		}},
		{"bulwark/bulwarkgrpc: WithRecovery: applies to server interceptors only, got StreamClientInterceptor", func() {
			bulwarkgrpc.StreamClientInterceptor(ok, bulwarkgrpc.WithRecovery(func(context.Context, any) error { return nil }))
		}},
		{`bulwark/bulwarkgrpc: MetadataKey: name must not be empty, got ""`, func() { bulwarkgrpc.MetadataKey("") }},
	} {
		assert.PanicsWithValue(t, tc.want, tc.build)
	}
}

// One list of options serves both client interceptors.
func TestClientInterceptorsShareOptions(t *testing.T) {
	opts := []bulwarkgrpc.Option{bulwarkgrpc.WithIdempotent("/a.B/C"), bulwarkgrpc.WithMaxReplay(4)}
	assert.NotPanics(t, func() {
		bulwarkgrpc.UnaryClientInterceptor(breaker.New(), opts...)
		bulwarkgrpc.StreamClientInterceptor(breaker.New(), opts...)
	})
}

func TestNilOptionsAreIgnored(t *testing.T) {
	assert.NotPanics(t, func() {
		bulwarkgrpc.UnaryClientInterceptor(breaker.New(), nil, bulwarkgrpc.WithIdempotent("/a.B/C"), nil)
	})
}

func TestIsFailure(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"a timeout", timeout.ErrTimeout, true},
		{"an Internal status from elsewhere", status.Error(codes.Internal, "x"), true},
		{"a wrapped Unavailable", errors.Join(errors.New("ctx"), status.Error(codes.Unavailable, "x")), true},
		{"a NotFound status", status.Error(codes.NotFound, "x"), false},
		{"a plain error", errors.New("x"), true},
		{"a permanent plain error", bulwark.Permanent(errors.New("x")), false},
	} {
		assert.Equal(t, tc.want, bulwarkgrpc.IsFailure(tc.err), tc.name)
	}
}
