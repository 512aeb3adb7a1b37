package ratelimit

import (
	"time"

	"github.com/bulwark-go/bulwark"
)

// Errors are values of unexported comparable struct types, as in every
// bulwark policy: errors.Is matches a sentinel by ==, and each rejection's
// Is matches bulwark.ErrRejected. None of them is allocated per call.

// ErrLimited is matched, with errors.Is, by every rejection of a rate
// limiter, and matches bulwark.ErrRejected. A rejection also carries the
// time until a token is available, for bulwark.RetryAfter, unless no token
// will ever come (a limit of zero); ErrLimited itself carries none.
var ErrLimited error = limited{}

// limited is ErrLimited: a rejection with no hint.
type limited struct{}

func (limited) Error() string   { return "bulwark/ratelimit: rate limited" }
func (limited) Is(t error) bool { return t == bulwark.ErrRejected }

// limitedError is a rejection that knows when a token will be there: it
// asks its limiter (or its key's entry) when asked, so that it holds one
// pointer, which an interface stores without allocating. A hint carried as
// a Duration would be allocated with every rejection; one shared by the
// limiter and written per rejection would be overwritten under its
// holder. Read as soon as the call is rejected, it is the wait the
// rejection saw; read later, it is the time left from then.
type limitedError[S hintSource] struct{ src S }

// hintSource is what a rejection asks for its hint.
type hintSource interface {
	comparable
	// retryAfter returns how long a call that came now would wait for
	// its token, 0 if one is there.
	retryAfter() time.Duration
}

func (e limitedError[S]) Error() string {
	return "bulwark/ratelimit: rate limited, retry in " + e.src.retryAfter().String()
}
func (limitedError[S]) Is(t error) bool             { return t == ErrLimited || t == bulwark.ErrRejected }
func (e limitedError[S]) RetryAfter() time.Duration { return e.src.retryAfter() }

// ErrZeroValue is matched, with errors.Is, by the error the zero value of
// Limiter, SlidingWindow or Keyed returns from Execute: it has no limit to
// apply. It does not match bulwark.ErrRejected: it is a mistake in the
// program, not a verdict on the call.
var ErrZeroValue error = zeroError{}

// zeroError names the zero type that was used; ErrZeroValue names none.
type zeroError struct{ typ, ctor string }

func (e zeroError) Error() string {
	if e.typ == "" {
		return "bulwark/ratelimit: a zero limiter has no limit; build it with New, NewSlidingWindow or NewKeyed"
	}
	return "bulwark/ratelimit: a zero ratelimit." + e.typ + " has no limit; build it with ratelimit." + e.ctor
}
func (zeroError) Is(t error) bool { return t == ErrZeroValue }

var (
	errZeroLimiter error = zeroError{"Limiter", "New"}
	errZeroWindow  error = zeroError{"SlidingWindow", "NewSlidingWindow"}
	errZeroKeyed   error = zeroError{"Keyed", "NewKeyed"}
)
