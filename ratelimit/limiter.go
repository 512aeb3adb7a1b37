package ratelimit

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/counter"
	"golang.org/x/time/rate"
)

// ErrLimited is matched, with errors.Is, by every rejection of a rate
// limiter, and matches bulwark.ErrRejected. A rejection also carries the
// time until a token is available, for bulwark.RetryAfter.
var ErrLimited error = limited{}

// limited is ErrLimited: a rejection with no hint (a limit of zero).
type limited struct{}

func (limited) Error() string   { return "bulwark/ratelimit: rate limited" }
func (limited) Is(t error) bool { return t == bulwark.ErrRejected }

// limitedError is a rejection that knows when a token will be there.
type limitedError struct{ after time.Duration }

func (e *limitedError) Error() string {
	return fmt.Sprintf("bulwark/ratelimit: rate limited, retry in %v", e.after)
}
func (e *limitedError) Is(t error) bool           { return t == ErrLimited || t == bulwark.ErrRejected }
func (e *limitedError) RetryAfter() time.Duration { return e.after }

// Limiter is a token bucket, on golang.org/x/time/rate: limit tokens a
// second, up to burst at once; the bucket starts full. See the package
// documentation.
type Limiter struct {
	lim      *rate.Limiter
	maxWait  time.Duration
	reporter *bulwark.Reporter
	rejected counter.Striped
}

var _ bulwark.Stage = (*Limiter)(nil)

func checkLimit(option string, limit rate.Limit, burst int) {
	if math.IsNaN(float64(limit)) || limit < 0 {
		panicf(option, "limit must be >= 0 (or rate.Inf), got %v", float64(limit))
	}
	if burst < 1 && limit != rate.Inf {
		panicf(option, "burst must be >= 1 with a finite limit, got %d", burst)
	}
}

// New returns a token bucket of limit tokens a second and burst tokens at
// most, full at first. Without options a call over the limit is rejected
// at once with an error matching ErrLimited. It panics if limit is negative
// or NaN, or burst < 1 with a finite limit.
func New(limit rate.Limit, burst int, opts ...Option) *Limiter {
	checkLimit("New", limit, burst)
	c := newConfig("bucket", opts)
	l := &Limiter{
		lim:      rate.NewLimiter(limit, burst),
		maxWait:  c.maxWait,
		reporter: c.tel.Reporter("ratelimit"),
	}
	return l
}

// Execute runs fn if a token is available (or becomes available within the
// maximum wait); otherwise it returns an error matching ErrLimited without
// running fn.
func (l *Limiter) Execute(ctx context.Context, fn func(context.Context) error) error {
	if ctx == nil {
		return bulwark.ErrNilContext
	}
	if fn == nil {
		return bulwark.ErrNilFunc
	}
	now := time.Now()
	if !l.lim.AllowN(now, 1) {
		if err := l.acquireSlow(ctx, bulwark.Next{}, now); err != nil {
			return err
		}
	}
	return fn(ctx)
}

// ExecuteStage implements bulwark.Stage.
func (l *Limiter) ExecuteStage(ctx context.Context, next bulwark.Next) error {
	now := time.Now()
	if !l.lim.AllowN(now, 1) {
		if err := l.acquireSlow(ctx, next, now); err != nil {
			return err
		}
	}
	return next.Run(ctx)
}

// acquireSlow waits for a token if allowed, or rejects the call.
func (l *Limiter) acquireSlow(ctx context.Context, next bulwark.Next, now time.Time) error {
	wait, err := takeSlow(ctx, l.lim, l.maxWait, now)
	if err != nil || wait < 0 {
		return err
	}
	return l.reject(ctx, next, wait)
}

// takeSlow gets a token from lim, which had none at now, by waiting up to
// maxWait (and within ctx's deadline) for it. It returns a negative wait
// when it got the token, the time until a token is available when it did
// not, or ctx.Err() when the caller gave up while waiting (the token is
// then given back).
func takeSlow(ctx context.Context, lim *rate.Limiter, maxWait time.Duration, now time.Time) (time.Duration, error) {
	if maxWait > 0 {
		r := lim.ReserveN(now, 1)
		if d := r.DelayFrom(now); r.OK() && d <= maxWait {
			if dl, ok := ctx.Deadline(); !ok || !now.Add(d).After(dl) {
				t := time.NewTimer(d)
				defer t.Stop()
				select {
				case <-t.C:
					return -1, nil
				case <-ctx.Done():
					r.Cancel() // give the token back
					return 0, ctx.Err()
				}
			}
		}
		r.CancelAt(now)
	}
	return wait(lim, now), nil
}

// wait is the time until lim has a token, as seen at now; 0 when none will
// come (a zero limit).
func wait(lim *rate.Limiter, now time.Time) time.Duration {
	limit := lim.Limit()
	if limit <= 0 {
		return 0
	}
	missing := 1 - lim.TokensAt(now)
	return time.Duration(math.Ceil(missing / float64(limit) * float64(time.Second)))
}

func (l *Limiter) reject(ctx context.Context, next bulwark.Next, after time.Duration) error {
	l.rejected.Add(1)
	err := ErrLimited
	if after > 0 {
		err = &limitedError{after: after}
	}
	l.reporter.Report(ctx, next, &bulwark.Event{Type: bulwark.EventRejected, Delay: after, Err: err})
	return err
}

// SetLimit changes the rate at run time. It returns an error, and changes
// nothing, for a negative or NaN limit.
func (l *Limiter) SetLimit(limit rate.Limit) error {
	if math.IsNaN(float64(limit)) || limit < 0 {
		return fmt.Errorf("bulwark/ratelimit: SetLimit: limit must be >= 0 (or rate.Inf), got %v", float64(limit))
	}
	l.lim.SetLimit(limit)
	return nil
}

// SetBurst changes the burst at run time. It returns an error, and changes
// nothing, for a burst < 1 with a finite limit.
func (l *Limiter) SetBurst(burst int) error {
	if burst < 1 && l.lim.Limit() != rate.Inf {
		return fmt.Errorf("bulwark/ratelimit: SetBurst: burst must be >= 1 with a finite limit, got %d", burst)
	}
	l.lim.SetBurst(burst)
	return nil
}

// Snapshot is what a token bucket knows at one moment.
type Snapshot struct {
	Limit  rate.Limit
	Burst  int
	Tokens float64 // available now, possibly negative while waiters hold reservations
	// Rejected counts rejected calls since New. Allowed calls are not
	// counted: the Allow path stays as cheap as x/time/rate's own.
	Rejected int64
}

// Snapshot returns the bucket's settings, its tokens and its rejections.
func (l *Limiter) Snapshot() Snapshot {
	return Snapshot{Limit: l.lim.Limit(), Burst: l.lim.Burst(), Tokens: l.lim.Tokens(), Rejected: l.rejected.Load()}
}
