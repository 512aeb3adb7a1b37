// Package bulwarkgrpc runs gRPC calls through bulwark policies: client and
// server interceptors, unary and stream, of grpc-go's own func types.
package bulwarkgrpc
