package benchmarks

import (
	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/middleware/bulwarkgrpc"
	"github.com/bulwark-go/bulwark/retry"
	"google.golang.org/grpc"
)

func bulwarkGRPC() grpc.UnaryClientInterceptor {
	p := bulwark.New(
		retry.New(retry.WithMaxAttempts(3), retry.WithDelay(0)),
		breaker.New(breaker.WithFailureIf(bulwarkgrpc.IsFailure)),
	)
	return bulwarkgrpc.UnaryClientInterceptor(p, bulwarkgrpc.WithIdempotent(grpcCheck))
}
