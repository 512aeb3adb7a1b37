package ratelimit

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/core"
	"github.com/bulwark-go/bulwark/internal/counter"
	"github.com/bulwark-go/bulwark/internal/observe"
	"github.com/bulwark-go/bulwark/internal/outcome"
	"golang.org/x/time/rate"
)

// Limiter is a token bucket: limit tokens a second, up to burst at once;
// the bucket starts full, and rate.Inf admits every call. A call takes a
// token or is rejected with an error matching ErrLimited that says when
// one will be there; with WithMaxWait it may wait for its token instead.
// Over any interval of length t it admits at most limit × t + burst calls,
// however many goroutines call it at once, and an idle bucket refills to
// burst.
//
// Execute is the method to call, or the Limiter as a stage of a bulwark
// pipeline; SetLimit and SetBurst change it at run time, Status and
// Snapshot read it. A Limiter is safe for concurrent use.
//
// Its zero value has no limit: its Execute runs nothing and returns an
// error matching ErrZeroValue. Build one with New.
type Limiter struct {
	b        atomic.Pointer[bucket]
	epoch    time.Time // the bucket's clock counts from here
	maxWait  time.Duration
	name     string
	reporter core.Reporter
	rejected counter.Striped
	mu       sync.Mutex // serializes SetLimit and SetBurst
}

// bucket is a rule and its state. SetLimit and SetBurst replace it: they
// seal the old state, so that nothing more is taken from it, and point
// next to its successor.
type bucket struct {
	rule
	state atomic.Int64
	next  atomic.Pointer[bucket]
}

var (
	_ bulwark.Stage       = (*Limiter)(nil)
	_ bulwark.Inspectable = (*Limiter)(nil)
)

func badLimit(limit rate.Limit) bool { return math.IsNaN(float64(limit)) || limit < 0 }

func checkLimit(option string, limit rate.Limit, burst int) {
	if badLimit(limit) {
		panicf(option, "limit must be >= 0 (or rate.Inf), got %v", float64(limit))
	}
	if burst < 1 && !isInf(limit) {
		panicf(option, "burst must be >= 1 with a finite limit, got %d", burst)
	}
}

// New returns a token bucket of limit tokens a second and burst tokens at
// most, full at first. Without options a call over the limit is rejected
// at once with an error matching ErrLimited. It panics if limit is negative
// or NaN, or burst < 1 with a finite limit.
func New(limit rate.Limit, burst int, opts ...Option) *Limiter {
	checkLimit("New", limit, burst)
	c := newConfig(opts, Option.applyBucket)
	l := &Limiter{
		epoch:    time.Now(),
		maxWait:  c.maxWait,
		name:     c.tel.Name,
		reporter: c.tel.Reporter(kind),
	}
	l.b.Store(&bucket{rule: newRule(limit, burst)})
	observe.Calls(l.reporter, l, (*Limiter).rejections, outcome.Rejected)
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
	if err := l.acquire(ctx, bulwark.Next{}); err != nil {
		return err
	}
	return fn(ctx)
}

// ExecuteStage implements bulwark.Stage.
func (l *Limiter) ExecuteStage(ctx context.Context, next bulwark.Next) error {
	if err := l.acquire(ctx, next); err != nil {
		return err
	}
	return next.Run(ctx)
}

// now is the bucket's clock: ns since the epoch, never negative (a limiter
// built outside a testing/synctest bubble and used inside sees time stand
// still rather than run backwards).
func (l *Limiter) now() int64 { return max(int64(time.Since(l.epoch)), 0) }

// acquire takes a token, waiting for it if the limiter waits. It returns
// nil when the call may run, a rejection, or ctx.Err() when the caller
// gave up while waiting.
func (l *Limiter) acquire(ctx context.Context, next bulwark.Next) error {
	b := l.b.Load()
	if b == nil {
		return errZeroLimiter
	}
	if b.kind == unlimited {
		return nil
	}
	// One reading serves every attempt: a stale reading only takes the
	// token as of an earlier time.
	now := l.now()
	for {
		s := b.state.Load()
		if s == sealed {
			if b = b.next.Load(); b.kind == unlimited {
				return nil
			}
			continue
		}
		n, wait := b.take(s, now)
		if wait <= 0 {
			if b.state.CompareAndSwap(s, n) {
				return nil
			}
			continue
		}
		if !mayWait(ctx, l.epoch, now, l.maxWait, wait) {
			return l.reject(ctx, next, b.hintFor(wait))
		}
		if b.state.CompareAndSwap(s, n) {
			if err := sleep(ctx, wait); err != nil {
				// Give the token back if nothing was taken after it;
				// otherwise its turn passes unused.
				b.state.CompareAndSwap(n, s)
				return err
			}
			return nil
		}
	}
}

// mayWait reports whether a call at now (ns since epoch) may wait wait
// for its token: within maxWait and the caller's deadline.
func mayWait(ctx context.Context, epoch time.Time, now int64, maxWait, wait time.Duration) bool {
	if wait > maxWait || wait == maxDuration {
		return false
	}
	dl, ok := ctx.Deadline()
	return !ok || wait <= dl.Sub(epoch)-time.Duration(now)
}

// sleep waits d, or returns ctx.Err() if the caller gives up first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *Limiter) reject(ctx context.Context, next bulwark.Next, hint time.Duration) error {
	l.rejected.Add(1)
	err := ErrLimited
	if hint > 0 {
		err = limitedError[*Limiter]{l}
	}
	if l.reporter.Listening(ctx, next) {
		l.reporter.Report(ctx, next, bulwark.Event{Type: bulwark.EventRejected, Delay: hint, Err: err})
	}
	return err
}

// retryAfter is the hint of the limiter's rejections: the wait of a call
// that came now, or 0 once a token is there.
func (l *Limiter) retryAfter() time.Duration {
	b := l.b.Load()
	for {
		if b.kind == unlimited {
			return 0
		}
		s := b.state.Load()
		if s == sealed {
			b = b.next.Load()
			continue
		}
		_, wait := b.take(s, l.now())
		return max(b.hintFor(wait), 0)
	}
}

// SetLimit changes the rate at run time, keeping the tokens the bucket
// holds. It returns an error, and changes nothing, for a negative or NaN
// limit, or a finite limit while the burst is below 1 (possible only after
// New(rate.Inf, 0)): call SetBurst first. Calls waiting for a token keep
// the turn they were given.
func (l *Limiter) SetLimit(limit rate.Limit) error {
	if badLimit(limit) {
		return fmt.Errorf("bulwark/ratelimit: SetLimit: limit must be >= 0 (or rate.Inf), got %v", float64(limit))
	}
	return l.change(func(r rule) (rule, error) {
		if r.burst < 1 && !isInf(limit) {
			return r, fmt.Errorf("bulwark/ratelimit: SetLimit: limit %v needs a burst >= 1, got burst %d; call SetBurst first",
				float64(limit), r.burst)
		}
		return newRule(limit, r.burst), nil
	})
}

// SetBurst changes the burst at run time; the bucket keeps its tokens, up
// to the new burst. It returns an error, and changes nothing, for a burst
// < 1 with a finite limit.
func (l *Limiter) SetBurst(burst int) error {
	return l.change(func(r rule) (rule, error) {
		if burst < 1 && !isInf(r.limit) {
			return r, fmt.Errorf("bulwark/ratelimit: SetBurst: burst must be >= 1 with a finite limit, got %d", burst)
		}
		return newRule(r.limit, burst), nil
	})
}

// change replaces the bucket by one of the rule that with returns, holding
// the tokens of the old one.
func (l *Limiter) change(with func(rule) (rule, error)) error {
	if l.b.Load() == nil {
		return errZeroLimiter
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	old := l.b.Load()
	r, err := with(old.rule)
	if err != nil {
		return err
	}
	nb := &bucket{rule: r}
	for {
		s := old.state.Load()
		now := l.now()
		nb.state.Store(r.state(old.tokens(s, now), now))
		// Calls that find the old state sealed move on to nb.
		old.next.Store(nb)
		if old.state.CompareAndSwap(s, sealed) {
			break
		}
	}
	l.b.Store(nb)
	return nil
}

// Snapshot is what a token bucket knows at one moment.
type Snapshot struct {
	Limit rate.Limit
	Burst int
	// Tokens available now, negative while waiters hold tokens not yet
	// due; the burst for an unlimited bucket.
	Tokens float64
	// Rejected counts rejected calls since New. Allowed calls are not
	// counted: the Allow path stays one atomic step.
	Rejected int64
}

// kind is the policy kind of every limiter of this package.
const kind = "ratelimit"

// rejections is the count of the bulwark.calls series: the limiter counts
// its rejections only.
func (l *Limiter) rejections(outcome.Outcome) int64 { return l.rejected.Load() }

// Status returns the limiter's kind ("ratelimit"), name, the tokens in its
// bucket (as Snapshot counts them) and the calls it rejected since it was
// built. It takes no lock.
func (l *Limiter) Status() bulwark.Status {
	s := l.Snapshot()
	return bulwark.Status{Kind: kind, Name: l.name, Tokens: s.Tokens, Rejected: s.Rejected}
}

// Snapshot returns the bucket's settings, its tokens and its rejections;
// the zero Snapshot for the zero Limiter.
func (l *Limiter) Snapshot() Snapshot {
	b := l.b.Load()
	if b == nil {
		return Snapshot{}
	}
	s := b.state.Load()
	for s == sealed {
		b = b.next.Load()
		s = b.state.Load()
	}
	tokens := float64(b.burst)
	if b.kind != unlimited {
		tokens = b.tokens(s, l.now())
	}
	return Snapshot{Limit: b.limit, Burst: b.burst, Tokens: tokens, Rejected: l.rejected.Load()}
}
