package bulwarkgrpc

import (
	"context"
	"errors"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/timeout"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// statusError is a status error that keeps what the policies returned
// behind it: status.FromError and status.Code read st, errors.Is and
// bulwark.RetryAfter read err (breaker.ErrOpen, retry.ErrExhausted, the
// last attempt's error).
type statusError struct {
	st  *status.Status
	msg string
	err error
}

func newStatusError(st *status.Status, err error) *statusError {
	return &statusError{st: st, msg: st.Err().Error(), err: err}
}

func (e *statusError) Error() string              { return e.msg }
func (e *statusError) GRPCStatus() *status.Status { return e.st }
func (e *statusError) Unwrap() error              { return e.err }

// clientError turns what a client policy returned into the error the
// caller gets, always a status error:
//   - the error of an attempt: its own status, unchanged (the very error
//     grpc returned when nothing wrapped it, else a statusError with the
//     same status, so that errors.Is still finds retry.ErrExhausted),
//     unless a timeout of the policy fired, which makes it DeadlineExceeded;
//   - a local rejection: ResourceExhausted for a rate limit, Unavailable
//     for the others (breaker open, bulkhead full, throttled), with the
//     rejection's hint as a google.rpc.RetryInfo detail;
//   - a timeout or the caller's deadline: DeadlineExceeded; the caller's
//     cancellation: Canceled;
//   - another status error as it is, anything else Unknown.
func clientError(err error) error {
	if err == nil {
		return nil
	}
	if e, ok := err.(*callError); ok {
		return e.err
	}
	if e := findCallError(err); e != nil && !errors.Is(err, timeout.ErrTimeout) {
		return &statusError{st: statusOf(e.err), msg: e.err.Error(), err: err}
	}
	st, hint, hinted := policyStatus(err, false)
	if hinted {
		st = withRetryInfo(st, hint)
	}
	return newStatusError(st, err)
}

// serverError turns what a server policy returned into the error the
// handler's caller (grpc) gets. The handler's own status error goes out
// unchanged, unless a timeout of the policy fired (DeadlineExceeded, whatever
// the handler made of its cancelled context); a rejection by a rate limit or a full bulkhead becomes
// ResourceExhausted, any other rejection Unavailable, a timeout
// DeadlineExceeded; a rejection's hint goes out as the
// grpc-retry-pushback-ms trailer (through setTrailer) and a
// google.rpc.RetryInfo detail.
func serverError(err error, setTrailer func(metadata.MD)) error {
	if e := findCallError(err); e != nil && !errors.Is(err, timeout.ErrTimeout) {
		if _, ok := e.err.(interface{ GRPCStatus() *status.Status }); ok {
			return e.err
		}
		if _, ok := status.FromError(e.err); ok {
			return e.err // a wrapped status error: grpc reads it as it is
		}
		return newStatusError(statusOf(e.err), e.err)
	}
	st, hint, hinted := policyStatus(err, true)
	if hinted {
		st = withRetryInfo(st, hint)
		setTrailer(metadata.Pairs(PushbackKey, formatPushback(hint)))
	}
	return newStatusError(st, err)
}

// policyStatus is the status of an error that no attempt returned: a
// policy's own.
func policyStatus(err error, server bool) (st *status.Status, hint time.Duration, hinted bool) {
	switch {
	case errors.Is(err, bulwark.ErrRejected):
		code := codes.Unavailable
		if errors.Is(err, ratelimit.ErrLimited) || server && errors.Is(err, bulkhead.ErrFull) {
			code = codes.ResourceExhausted
		}
		hint, hinted = bulwark.RetryAfter(err)
		return status.New(code, err.Error()), hint, hinted
	case errors.Is(err, timeout.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return status.New(codes.DeadlineExceeded, err.Error()), 0, false
	case errors.Is(err, context.Canceled):
		return status.New(codes.Canceled, err.Error()), 0, false
	}
	if s, ok := status.FromError(err); ok {
		return s, 0, false
	}
	return status.New(codes.Unknown, err.Error()), 0, false
}

// withRetryInfo adds a google.rpc.RetryInfo detail to st, the form in which
// Google APIs say when to come back.
func withRetryInfo(st *status.Status, d time.Duration) *status.Status {
	if s, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(d)}); err == nil {
		return s
	}
	return st
}
