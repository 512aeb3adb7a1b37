package benchmarks

import (
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/failsafegrpc"
	"google.golang.org/grpc"
)

func failsafeGRPC() grpc.UnaryClientInterceptor {
	return failsafegrpc.NewUnaryClientInterceptor[any](
		failsafegrpc.NewRetryPolicyBuilder[any]().WithMaxAttempts(3).Build(),
		// Its default opens on the first failure: give it the room
		// bulwark's default breaker has (five in a row).
		circuitbreaker.NewBuilder[any]().WithFailureThreshold(5).Build(),
	)
}
