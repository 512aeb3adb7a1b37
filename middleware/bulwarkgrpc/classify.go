package bulwarkgrpc

import (
	"context"
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/outcome"
	"github.com/bulwark-go/bulwark/timeout"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// PushbackKey is the trailer metadata key by which a gRPC server tells
// a client when to retry (gRFC A6): a count of milliseconds, or a negative
// or malformed value meaning "do not retry".
const PushbackKey = "grpc-retry-pushback-ms"

// pushback is what a grpc-retry-pushback-ms trailer says.
type pushback uint8

const (
	pushbackNone  pushback = iota // no trailer: the usual rules
	pushbackAfter                 // retry after the delay
	pushbackStop                  // do not retry: negative, malformed or repeated
)

// parsePushback reads the grpc-retry-pushback-ms values of a trailer as
// grpc-go does: one value that strconv.Atoi accepts and that is not
// negative is a delay in milliseconds; several values, a negative one or
// one Atoi refuses (out of range of an int included) stop retries. The
// delay saturates at the longest time.Duration.
func parsePushback(vals []string) (time.Duration, pushback) {
	switch len(vals) {
	case 0:
		return 0, pushbackNone
	case 1:
	default:
		return 0, pushbackStop
	}
	ms, err := strconv.Atoi(vals[0])
	if err != nil || ms < 0 {
		return 0, pushbackStop
	}
	if int64(ms) > math.MaxInt64/int64(time.Millisecond) {
		return math.MaxInt64, pushbackAfter
	}
	return time.Duration(ms) * time.Millisecond, pushbackAfter
}

// formatPushback writes d as a grpc-retry-pushback-ms value, rounded up to
// the millisecond so that a client that waits it does not come back early.
func formatPushback(d time.Duration) string {
	if d <= 0 {
		return "0"
	}
	ms := d / time.Millisecond
	if d%time.Millisecond != 0 {
		ms++
	}
	return strconv.FormatInt(int64(ms), 10)
}

// callError is the error one attempt (a unary call, a stream, a handler)
// ended with, as the policies see it: the error grpc or the handler
// returned, with the interceptor's verdict on it. status.FromError and
// errors.Is see the original error through it; the caller of the
// interceptor gets the original error back.
type callError struct {
	err     error // as grpc or the handler returned it
	cause   error // the context's error, when the attempt ended because its context did
	failure bool  // by the failure codes: what IsFailure says
}

func (e *callError) Error() string { return e.err.Error() }
func (e *callError) Unwrap() error { return e.err }

// Is makes the call's own cancellation visible to bulwark.CallerCanceled:
// grpc returns it as a status error, which matches no context error.
func (e *callError) Is(target error) bool { return e.cause != nil && target == e.cause }

// GRPCStatus returns the attempt's status.
func (e *callError) GRPCStatus() *status.Status { return statusOf(e.err) }

// statusOf returns err's status as grpc-go's server derives it: the status
// of a status error (wrapped or not), else Canceled or DeadlineExceeded
// for a context error and Unknown for the rest.
func statusOf(err error) *status.Status {
	if s, ok := status.FromError(err); ok {
		return s
	}
	return status.FromContextError(err)
}

// codeOf is statusOf(err).Code() without building a status for the
// common case of a status error.
func codeOf(err error) codes.Code {
	if gs, ok := err.(interface{ GRPCStatus() *status.Status }); ok {
		if s := gs.GRPCStatus(); s != nil {
			return s.Code()
		}
	}
	return statusOf(err).Code()
}

// outcome turns the error an attempt of fullMethod ended with into what the
// policies see. Errors that must not be retried are marked, as failures
// (a failure code: outcome.NoRetry) or as answers (bulwark.Permanent):
// every error of a method not marked idempotent, every
// code but Unavailable and ResourceExhausted-with-pushback, anything after
// a stream delivered a message (replayable false), and anything whose
// pushback says stop. A valid pushback becomes a bulwark.RetryAfter hint.
// An attempt that ended because its context did is the caller's (or an
// inner timeout's) business, visible to bulwark.CallerCanceled.
func (c *config) outcome(ctx context.Context, fullMethod string, err error, pushbackVals []string, replayable bool) error {
	if err == nil {
		return nil
	}
	code := codeOf(err)
	e := &callError{err: err, failure: c.failures.has(code)}
	if cerr := ctx.Err(); cerr != nil && (code == codes.Canceled || code == codes.DeadlineExceeded) {
		e.cause = cerr
		if replayable && c.mayRetry(fullMethod) {
			return e // an inner timeout that fired: retry may try again
		}
		return e.final()
	}
	after, pb := parsePushback(pushbackVals)
	retryable := pb != pushbackStop &&
		(code == codes.Unavailable || code == codes.ResourceExhausted && pb == pushbackAfter)
	if !retryable || !replayable || !c.mayRetry(fullMethod) {
		return e.final()
	}
	if pb == pushbackAfter {
		return bulwark.WithRetryAfter(e, after)
	}
	return e
}

// final marks e as not to be retried: a failure code stays a failure for
// the policies that learn from outcomes (outcome.NoRetry), any other code
// is the dependency's answer (bulwark.Permanent, a success for them).
func (e *callError) final() error {
	if e.failure {
		return outcome.NoRetry(e)
	}
	return bulwark.Permanent(e)
}

// findCallError returns the callError in err's chain, or nil.
func findCallError(err error) *callError {
	for err != nil {
		if e, ok := err.(*callError); ok {
			return e
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, err := range u.Unwrap() {
				if e := findCallError(err); e != nil {
					return e
				}
			}
			return nil
		default:
			return nil
		}
	}
	return nil
}

// IsFailure reports whether err is a failure of the gRPC dependency, for
// the WithFailureIf option of the policies that learn from outcomes:
//
//	breaker.New(breaker.WithFailureIf(bulwarkgrpc.IsFailure))
//
// The interceptors already mark the errors they hand a policy so that a
// default learning policy counts the failure codes as failures; IsFailure
// reads the code itself: an error an interceptor returned to the policy is a failure when its code
// is one of WithFailureCodes (default Unavailable, Internal,
// DeadlineExceeded, Unknown, DataLoss) and not a failure otherwise
// (NotFound, InvalidArgument and every other code that is an answer).
// A timeout (timeout.ErrTimeout) is a failure. Another status error is
// judged by the default codes, and any other error as the bulwark outcome
// table judges it: a failure unless marked bulwark.Permanent. The caller's
// cancellation and local rejections never reach it: the learning policies
// set them apart first.
func IsFailure(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, timeout.ErrTimeout) {
		return true
	}
	if e := findCallError(err); e != nil {
		return e.failure
	}
	if s, ok := status.FromError(err); ok {
		return defaultFailures.has(s.Code())
	}
	return !bulwark.IsPermanent(err)
}
