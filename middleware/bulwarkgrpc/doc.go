// Package bulwarkgrpc runs gRPC calls through bulwark policies: client and
// server interceptors, unary and stream, of grpc-go's own func types, so
// they chain with any other interceptor.
//
//	p := bulwark.New(
//		retry.New(retry.WithMaxAttempts(3)),
//		breaker.New(breaker.WithFailureIf(bulwarkgrpc.IsFailure)),
//	)
//	conn, err := grpc.NewClient(target,
//		grpc.WithDisableRetry(), // bulwark retries; see "grpc-go's own retries"
//		grpc.WithChainUnaryInterceptor(bulwarkgrpc.UnaryClientInterceptor(p,
//			bulwarkgrpc.WithIdempotent("/inventory.Stock/Get"))),
//		grpc.WithChainStreamInterceptor(bulwarkgrpc.StreamClientInterceptor(p)),
//	)
//
//	limit := ratelimit.NewKeyed(100, 20, bulwarkgrpc.PeerKey)
//	srv := grpc.NewServer(
//		grpc.ChainUnaryInterceptor(bulwarkgrpc.UnaryServerInterceptor(limit)),
//		grpc.ChainStreamInterceptor(bulwarkgrpc.StreamServerInterceptor(bulkhead.New(64))),
//	)
//
// Each attempt of the policy is one call of the invoker (client) or of the
// handler (server). Put bulwark's client interceptor first in the chain, so
// that the interceptors after it (credentials, logging) run again for every
// attempt.
//
// # What is retried
//
// A call is retried only if its method was marked idempotent
// (WithIdempotent, WithIdempotentIf): with neither, nothing is retried,
// whatever the policy says. Of the calls that may be, only two answers are
// retried: Unavailable, and ResourceExhausted when the server sent a
// grpc-retry-pushback-ms trailer (PushbackKey). A pushback follows gRFC A6
// as grpc-go reads it: one value that strconv.Atoi accepts and that is not
// negative is the delay before the retry, in milliseconds, handed to the
// policy as a bulwark.RetryAfter hint (the retry package waits it verbatim);
// a negative, malformed or repeated value stops retries, whatever the code.
// Every other error, and every error of a method not marked, reaches the
// policy marked so that no bulwark retry or hedge repeats it: a failure
// code (WithFailureCodes: Unavailable, Internal, DeadlineExceeded, Unknown,
// DataLoss by default) as a failure that is not to be retried, which the
// learning policies still count as a failure; any other code (NotFound,
// InvalidArgument ...) as bulwark.Permanent, the dependency's answer, which
// they count as a success. The
// caller's own cancellation or deadline (grpc returns them as Canceled and
// DeadlineExceeded statuses) is shown to the policy as the caller's
// (bulwark.CallerCanceled): neither retried nor a failure. A timeout of the
// policy inside a retry (a per-attempt timeout) is retried like
// Unavailable, on an idempotent method.
//
// # Breakers and the other learning policies
//
// A learning policy (breaker, adaptive bulkhead, throttler) with bulwark's
// default rule learns the gRPC codes as they are: the codes of
// WithFailureCodes (default Unavailable, Internal, DeadlineExceeded,
// Unknown, DataLoss) are failures, retried or not, and every other code
// (InvalidArgument, NotFound, AlreadyExists, PermissionDenied,
// Unauthenticated, FailedPrecondition, OutOfRange, Unimplemented,
// ResourceExhausted, Aborted) is an answer, a success. IsFailure says the
// same of an error, for a learning policy that sees the interceptors'
// errors from further away (inside a pipeline of its own):
//
//	breaker.New(breaker.WithFailureIf(bulwarkgrpc.IsFailure))
//
// # What the caller gets
//
// Every error the interceptors return is a status error. When the
// dependency answered, it is the last attempt's own status: status.Code,
// status.FromError and the message are grpc's, unchanged (the very error
// grpc returned when the policy returned it as it was; else a status error
// with that status through which errors.Is still sees retry.ErrExhausted).
// A rejection by the client's own policy becomes Unavailable (breaker open,
// bulkhead full, throttled) or ResourceExhausted (rate limited), with the
// rejection's hint as a google.rpc.RetryInfo detail; errors.Is sees
// breaker.ErrOpen and bulwark.ErrRejected through it, and bulwark.RetryAfter
// its hint. A timeout of the policy is DeadlineExceeded, the caller's
// cancellation Canceled, any other error Unknown.
//
// # Client streams
//
// StreamClientInterceptor holds the policy for the stream's whole life: a
// bulkhead permit or a half-open breaker's probe is taken when the stream
// opens and given back exactly once when it ends, and the policy learns the
// stream's final status. A stream ends when RecvMsg returns io.EOF or an
// error, when SendMsg returns an error other than io.EOF, when the caller's
// context is done, or when the ClientConn is closed: grpc-go's own rules
// for when a stream's resources go. The permit is back before the call that
// saw the end returns.
//
// A policy's Execute is a function call: it returns when the protected
// function returns. A stream outlives the interceptor that opened it, so for
// any policy but a breaker alone, Execute runs on a goroutine of the
// stream's, whose function opens the stream, hands it to the caller and
// waits for its end; that goroutine also watches the stream's context, and
// ends with the stream (grpc-go itself starts one per stream for the same
// purpose). When the policy is a *breaker.Breaker, its two-step
// Acquire/Permit.Done is used instead: no goroutine runs, and only a
// context.AfterFunc watches the caller's context, which starts one only if
// the context is cancelled.
//
// A stream is retried only before the caller received a message or the
// header: the new attempt is sent again what the caller sent so far (up to
// WithMaxReplay messages, kept by reference until then) and its CloseSend,
// and the caller's calls go on with it. A stream whose SendMsg reported its
// end (io.EOF) is not retried: the caller was told to stop sending. Two
// attempts of one stream never run at once: a hedge in the policy, or a retry
// while an abandoned attempt still runs, fails with FailedPrecondition, from
// the moment the first attempt is called (its stream still opening) until
// it returns.
//
// A panic on the goroutine that runs the policy (in the streamer, in a
// replayed SendMsg, in the policy) is raised again on the caller's, in the
// call that waited for it; panic(nil) too, in a program run with
// GODEBUG=panicnil=1 as well, where recover returns nil for it. A
// runtime.Goexit there ends that goroutine only: the caller gets Internal.
// Unary calls are refused the same way, since their attempts would share
// the caller's reply message.
//
// # Servers
//
// A server policy's rejections become: ResourceExhausted for a rate limit
// (ratelimit.ErrLimited) or a full bulkhead (bulkhead.ErrFull),
// Unavailable for an open breaker and any other rejection, each with the
// grpc-retry-pushback-ms trailer (rounded up to the millisecond) and a
// google.rpc.RetryInfo detail when the rejection knows when to come back; a
// timeout of the policy becomes DeadlineExceeded. The handler's own errors
// reach the client unchanged, and the policy sees them classified as on the
// client (a server breaker takes IsFailure too). A unary handler may be
// retried by the policy, on an idempotent method; a stream handler never
// runs twice, since the client's messages it read cannot be read again.
//
// Keyed policies find their key in the call's context: PeerKey (the peer's
// host) and MetadataKey (a metadata value) are key functions for
// ratelimit.NewKeyed.
//
// A handler panic goes on, unchanged, once every policy released what it
// holds (a breaker counts it as a failure); grpc-go recovers nothing, so an
// interceptor outside must, or the process ends. WithRecovery turns it into
// an Internal error instead.
//
// # grpc-go's own retries
//
// grpc-go retries by itself when the service config has a retryPolicy (it
// has none by default), and honours grpc-retry-pushback-ms too. With both on,
// attempts multiply (three of grpc-go's within each of bulwark's three: nine)
// and every attempt of grpc-go's is one attempt for bulwark's breaker. Turn
// one off: grpc.WithDisableRetry() on the ClientConn, or no retryPolicy in the
// service config. grpc-go's transparent retry of a stream that never left the
// client stays on either way, within one attempt of bulwark's.
//
// # OpenTelemetry and otelgrpc
//
// otelgrpc instruments through a stats handler, not an interceptor, and the
// two combine without any order to get right. On a server, grpc-go gives the
// RPC to the stats handler before the interceptors, so the policies' span
// events (bulwark.ratelimit.rejected, bulwark.breaker.state_change) land on
// otelgrpc's server span. On a client, the stats handler sees each attempt
// inside the invoker, after the interceptors: the policies' events
// (bulwark.retry) land on the caller's span, the parent of one otelgrpc
// span per attempt.
//
// # Cost
//
// A unary call through the client interceptor makes two allocations of the
// interceptor's own: the call's state, in which grpc-go writes the trailer
// that carries the pushback unless the caller gave its own grpc.Trailer,
// and the function handed to the policy. benchmarks/grpc_test.go compares
// its cost with a bare call's over bufconn. A stream costs a few allocations more
// than grpc-go's own, and, for a policy other than a breaker alone, the
// goroutine that holds it. The interceptors hold their policy and a
// configuration of a few hundred bytes, and nothing global: a dropped
// interceptor is garbage-collected with its policy. A nil Option is
// ignored.
package bulwarkgrpc
