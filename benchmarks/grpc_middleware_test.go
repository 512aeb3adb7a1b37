package benchmarks

import (
	grpcretry "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/retry"
	"google.golang.org/grpc"
)

// middlewareGRPC is go-grpc-middleware v2's retry: it has no breaker.
func middlewareGRPC() grpc.UnaryClientInterceptor {
	return grpcretry.UnaryClientInterceptor(grpcretry.WithMax(3), grpcretry.WithBackoff(grpcretry.BackoffLinear(0)))
}
