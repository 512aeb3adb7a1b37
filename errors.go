package bulwark

import (
	"context"
	"errors"
	"reflect"
	"time"
)

// ErrRejected is matched, through errors.Is, by every local rejection of
// every bulwark policy: breaker.ErrOpen, bulkhead.ErrFull,
// ratelimit.ErrLimited, throttle.ErrThrottled and the others. Middleware
// maps rejections with it without knowing each package. A rejected call
// never reached the dependency, so it is no outcome of the dependency (see
// the outcome table in the package doc). timeout.ErrTimeout does not match
// it: the dependency was asked and was slow.
var ErrRejected error = rejected{}

// rejected is ErrRejected's own type, so that an error made by errors.New,
// the commonest failure, is known not to be it from its type alone (as the
// retry's failure path does).
type rejected struct{}

func (rejected) Error() string { return "bulwark: rejected" }

// ErrNilFunc is returned by Execute when the function to protect is nil.
var ErrNilFunc = errors.New("bulwark: Execute: fn is nil")

// ErrNilContext is returned by Execute when the context is nil.
var ErrNilContext = errors.New("bulwark: Execute: ctx is nil")

// retryAfterer is implemented by errors that know when the call may be tried
// again: rejections of policies that know when they reopen, and errors
// built from server hints (Retry-After, grpc-retry-pushback-ms).
type retryAfterer interface {
	RetryAfter() time.Duration
}

// RetryAfter returns the delay after which the failed call may be tried
// again, read from the first error in err's tree that carries one (see
// WithRetryAfter). The tree is walked depth first, as errors.Is does.
func RetryAfter(err error) (time.Duration, bool) {
	// A loop for the usual chain of single wraps, which retry reads on
	// every failure; walk handles the rest.
	for err != nil {
		if h, ok := err.(retryAfterer); ok {
			return h.RetryAfter(), true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			break
		}
		err = u.Unwrap()
	}
	if _, ok := err.(interface{ Unwrap() []error }); !ok {
		return 0, false
	}
	var d time.Duration
	found := walk(err, func(e error) bool {
		if h, ok := e.(retryAfterer); ok {
			d = h.RetryAfter()
			return true
		}
		return false
	})
	return d, found
}

// WithRetryAfter returns an error that wraps err and carries the hint d for
// RetryAfter. errors.Is and errors.As see err through it. A negative d is
// taken as 0 (try again at once). WithRetryAfter(nil, d) is nil.
func WithRetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryAfterError{err: err, after: max(d, 0)}
}

type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string             { return e.err.Error() }
func (e *retryAfterError) Unwrap() error             { return e.err }
func (e *retryAfterError) RetryAfter() time.Duration { return e.after }

// Permanent marks err as final: no policy retries or hedges it. The wrapped
// error stays reachable with errors.Is and errors.As, and its message is
// unchanged. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// IsPermanent reports whether err, or any error in its tree, was marked by
// Permanent.
func IsPermanent(err error) bool {
	for err != nil {
		if _, ok := err.(*permanentError); ok {
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			break
		}
		err = u.Unwrap()
	}
	if _, ok := err.(interface{ Unwrap() []error }); !ok {
		return false
	}
	return walk(err, func(e error) bool {
		_, ok := e.(*permanentError)
		return ok
	})
}

// inspect reads, in one pass over err's tree, what IsPermanent and
// RetryAfter would say: retry policies ask both on every failure, through
// internal/hook.
func inspect(err error) (permanent bool, retryAfter time.Duration, hinted bool) {
	if reflect.TypeOf(err) == plainError {
		return false, 0, false
	}
	for err != nil {
		if _, ok := err.(*permanentError); ok {
			permanent = true
		} else if h, ok := err.(retryAfterer); ok && !hinted {
			retryAfter, hinted = h.RetryAfter(), true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			break
		}
		err = u.Unwrap()
	}
	if _, ok := err.(interface{ Unwrap() []error }); ok {
		permanent = permanent || IsPermanent(err)
		if !hinted {
			retryAfter, hinted = RetryAfter(err)
		}
	}
	return permanent, retryAfter, hinted
}

// CallerCanceled reports whether err is the caller's own cancellation or
// deadline: ctx is done and err is, or wraps, ctx.Err(). Such an outcome is
// the caller's business, not a failure of the dependency: no policy counts
// it as one.
func CallerCanceled(ctx context.Context, err error) bool {
	if err == nil {
		return false
	}
	cerr := ctx.Err()
	return cerr != nil && errors.Is(err, cerr)
}

// plainError is the type of the errors errors.New and fmt.Errorf (without
// %w) make, the commonest of all: it wraps nothing and carries no hint, so
// Inspect answers for it without asking what it implements.
var plainError = reflect.TypeOf(errors.New(""))

// walk calls match on every error in err's tree, depth first, and reports
// whether one matched. Unlike errors.As it needs no pointer target, so it
// does not allocate.
func walk(err error, match func(error) bool) bool {
	for err != nil {
		if match(err) {
			return true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if walk(e, match) {
					return true
				}
			}
			return false
		default:
			return false
		}
	}
	return false
}
