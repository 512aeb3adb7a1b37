package redislimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/core"
	"github.com/bulwark-go/bulwark/internal/counter"
	"github.com/bulwark-go/bulwark/internal/observe"
	"github.com/bulwark-go/bulwark/internal/outcome"
	"github.com/bulwark-go/bulwark/internal/redisx"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/metric"
	"golang.org/x/time/rate"
)

// The event types the limiter reports besides bulwark.EventRejected.
var (
	// EventDegraded: Redis could not be asked; the fail mode decides until
	// it answers again. Event.Err is the cause.
	EventDegraded = redisx.EventDegraded
	// EventRecovered: Redis answered again; decisions are global again.
	EventRecovered = redisx.EventRecovered
)

// Limiter is a token bucket kept in Redis, shared by every instance that
// uses the same Redis, prefix and key: limit tokens a second, up to burst
// at once, full at first. Each decision is one Lua script run (the generic
// cell rate algorithm on the server's clock), or, with WithLease, a local
// step most of the time. A call over the limit is rejected with an error
// matching ratelimit.ErrLimited (and bulwark.ErrRejected) that carries the
// time until a token is there, for bulwark.RetryAfter.
//
// Execute is the method to call, or the Limiter as a stage of a bulwark
// pipeline; AllowN decides for an explicit key and number of tokens and
// says what Redis knows. Status reads it. A Limiter is safe for concurrent
// use and needs no Close; the client stays the caller's to close.
//
// Its zero value has no Redis to ask: Execute and AllowN return an error
// matching ratelimit.ErrZeroValue and run nothing. Build one with New.
type Limiter struct {
	client    redis.UniversalClient // the view of the user's client
	bounded   bool                  // commands end at their context's deadline
	limit     rate.Limit
	burst     int
	interval  string // one token's refill time in µs, for the script
	key       func(context.Context) string
	prefix    string
	plainKey  string // the Redis key of the shared bucket (no WithKey)
	mode      FailMode
	timeout   time.Duration
	recheck   time.Duration
	lease     int
	leases    leaseTable
	local     *ratelimit.Keyed // FailLocal's buckets
	health    redisx.Health
	name      string
	reporter  core.Reporter
	rejected  counter.Striped
	fallbacks counter.Striped // decisions made without Redis
}

var (
	_ bulwark.Stage       = (*Limiter)(nil)
	_ bulwark.Inspectable = (*Limiter)(nil)
)

// Result is what a decision found.
type Result struct {
	// Allowed reports whether the tokens were granted.
	Allowed bool
	// Remaining is the tokens left in the bucket after the decision (in
	// the instance's lease, for a decision the lease served).
	Remaining int
	// RetryAfter is, for a rejection, the time until the tokens asked for
	// are there; -1 if they never will be (more than the burst); 0 when
	// allowed.
	RetryAfter time.Duration
	// ResetAfter is the time until the bucket is full again.
	ResetAfter time.Duration
	// Degraded reports that Redis could not be asked and the fail mode
	// decided.
	Degraded bool
}

// maxLimit is the highest finite limit: the script counts time in
// microseconds of the server's clock.
const maxLimit = 1e6

// maxTolerance bounds a burst's refill time, in µs, so that every time the
// script computes stays exact in a double (now is about 2^51 µs).
const maxTolerance = 1 << 51

// New returns a Limiter of limit tokens a second and burst tokens at most,
// kept in Redis through client (any go-redis client: single node,
// cluster, sentinel, ring). rate.Inf admits every call without asking
// Redis. Without options every call shares one bucket, a decision's Redis
// round trip is bounded by 50ms and the caller's deadline, and while Redis
// cannot be asked each instance decides with a local bucket of the whole
// limit (FailLocal). It panics, naming the argument and the value, for a
// nil client, a limit that is not positive (or NaN, or above 1e6 a second
// and finite), a burst below 1, or a burst whose refill time exceeds 2^51
// µs (71 years).
func New(client redis.UniversalClient, limit rate.Limit, burst int, opts ...Option) *Limiter {
	if redisx.IsNil(client) {
		panicf("New", "client must not be nil")
	}
	if math.IsNaN(float64(limit)) || limit <= 0 {
		panicf("New", "limit must be > 0 (or rate.Inf), got %v", float64(limit))
	}
	if limit > maxLimit && limit != rate.Inf {
		panicf("New", "limit must be at most 1e6 a second (or rate.Inf), got %v", float64(limit))
	}
	if burst < 1 {
		panicf("New", "burst must be at least 1, got %d", burst)
	}
	interval := 1e6 / float64(limit)
	if limit != rate.Inf && interval*float64(burst) > maxTolerance {
		panicf("New", "burst %d takes %v to refill at %v a second, beyond 2^51µs", burst,
			time.Duration(interval*float64(burst))*time.Microsecond, float64(limit))
	}
	c := newConfig(opts)
	l := &Limiter{
		client:   redisx.View(client, c.timeout),
		bounded:  redisx.Bounded(client),
		limit:    limit,
		burst:    burst,
		interval: strconv.FormatFloat(interval, 'g', 17, 64),
		key:      c.key,
		prefix:   c.prefix,
		mode:     c.mode,
		timeout:  c.timeout,
		recheck:  min(c.timeout, math.MaxInt64/2) * 2, // saturated: twice the longest timeout would wrap
		lease:    c.lease,
		name:     c.tel.Name,
		reporter: c.tel.Reporter(kind),
	}
	l.plainKey = l.redisKey("")
	if c.mode == FailLocal {
		share := float64(limit) * c.share
		l.local = ratelimit.NewKeyed(rate.Limit(share), max(1, int(float64(burst)*c.share)), localKey)
	}
	observe.Calls(l.reporter, l, (*Limiter).rejections, outcome.Rejected)
	l.observe()
	return l
}

const kind = "redislimit"

// redisKey is the Redis key of a bucket: the prefix and the escaped key in
// braces, a Cluster hash tag, so that the key sits in one slot.
func (l *Limiter) redisKey(key string) string {
	return l.prefix + "{" + redisx.EscapeKey(key) + "}"
}

// Execute runs fn if a token is there for the call's key; otherwise it
// returns an error matching ratelimit.ErrLimited without running fn.
func (l *Limiter) Execute(ctx context.Context, fn func(context.Context) error) error {
	return bulwark.RunStage(ctx, l, fn)
}

// ExecuteStage implements bulwark.Stage.
func (l *Limiter) ExecuteStage(ctx context.Context, next bulwark.Next) error {
	if l.client == nil {
		return errZero
	}
	if err := l.acquire(ctx, next); err != nil {
		return err
	}
	return next.Run(ctx)
}

// acquire takes one token for the call's key.
func (l *Limiter) acquire(ctx context.Context, next bulwark.Next) error {
	if l.limit == rate.Inf {
		return nil
	}
	var key, rkey string
	if l.key == nil {
		rkey = l.plainKey
	} else {
		key = l.key(ctx)
		rkey = l.redisKey(key)
	}
	if l.lease > 0 {
		_, err := l.leased(ctx, next, key, rkey, 1)
		return err
	}
	_, err := l.decide(ctx, next, key, rkey, 1, nil)
	return err
}

// leased takes n tokens from the instance's lease of the bucket. When it
// holds too few, a call for one token takes a new lease from Redis, one
// caller at a time; a call for more asks Redis directly. After Redis
// refused a lease, calls are rejected in the instance until the time it
// said a lease would be there.
func (l *Limiter) leased(ctx context.Context, next bulwark.Next, key, rkey string, n int) (Result, error) {
	ls := l.leases.get(rkey, rkey == l.plainKey)
	if ls.take(n) {
		return Result{Allowed: true, Remaining: int(max(ls.tokens.Load(), 0))}, nil
	}
	if n > 1 {
		return l.decide(ctx, next, key, rkey, n, nil)
	}
	if wait := ls.refused(); wait > 0 {
		return Result{RetryAfter: wait}, l.reject(ctx, next, wait, nil)
	}
	if err := ls.lock(ctx); err != nil {
		return Result{}, err
	}
	defer ls.unlock()
	if ls.take(1) { // refilled while this call waited
		return Result{Allowed: true, Remaining: int(max(ls.tokens.Load(), 0))}, nil
	}
	if wait := ls.refused(); wait > 0 {
		return Result{RetryAfter: wait}, l.reject(ctx, next, wait, nil)
	}
	return l.decide(ctx, next, key, rkey, 1, ls)
}

// AllowN takes n tokens from the bucket of key, or none: it returns
// Result.Allowed and a nil error when they were granted, and otherwise a
// rejection matching ratelimit.ErrLimited with the hint for
// bulwark.RetryAfter (none when the tokens will never be there: n above
// the burst). n = 0 reads the bucket and takes nothing. When Redis cannot
// be asked the fail mode decides and Result.Degraded is set. A caller
// whose context ends first gets ctx.Err(). With WithLease, a decision for
// one token may be served by the instance's lease.
func (l *Limiter) AllowN(ctx context.Context, key string, n int) (Result, error) {
	if l.client == nil {
		return Result{}, errZero
	}
	if n < 0 {
		return Result{}, fmt.Errorf("bulwark/redislimit: AllowN: n must be >= 0, got %d", n)
	}
	if l.limit == rate.Inf {
		return Result{Allowed: true, Remaining: l.burst}, nil
	}
	rkey := l.redisKey(key)
	if l.lease > 0 && n > 0 {
		return l.leased(ctx, bulwark.Next{}, key, rkey, n)
	}
	return l.decide(ctx, bulwark.Next{}, key, rkey, n, nil)
}

// decide asks Redis for n tokens of the bucket at rkey (user key key), or
// lets the fail mode decide when Redis cannot be asked. With ls, the lease
// to refill (n = 1), it asks for a lease of tokens, takes one and leaves
// the rest in ls.
func (l *Limiter) decide(ctx context.Context, next bulwark.Next, key, rkey string, n int, ls *lease) (Result, error) {
	if !l.health.Ask(l.recheck) {
		return l.fallback(ctx, next, key, n, nil)
	}
	want := n
	if ls != nil {
		want = min(l.lease, l.burst)
	}
	res, granted, err := l.eval(ctx, rkey, want)
	if err != nil {
		if redisx.CallerGone(ctx, err) {
			return Result{}, ctx.Err()
		}
		if l.health.Failed(l.recheck) {
			l.report(ctx, next, bulwark.Event{Type: EventDegraded, Err: err, Reason: "redis_unavailable"})
		}
		return l.fallback(ctx, next, key, n, err)
	}
	if l.health.Succeeded() {
		l.report(ctx, next, bulwark.Event{Type: EventRecovered})
	}
	if ls != nil {
		if granted > 0 {
			ls.fill(int64(granted - 1))
			res.Remaining = granted - 1
		} else {
			ls.refuse(res.RetryAfter)
		}
	}
	if !res.Allowed && n > 0 {
		return res, l.reject(ctx, next, res.RetryAfter, nil)
	}
	return res, nil
}

// eval runs the script within the timeout and the caller's deadline.
func (l *Limiter) eval(ctx context.Context, rkey string, n int) (Result, int, error) {
	cctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	v, err := gcra.Run(cctx, l.client, []string{rkey}, l.interval, l.burst, n).Int64Slice()
	if err != nil {
		return Result{}, 0, err
	}
	if len(v) != 4 {
		return Result{}, 0, fmt.Errorf("bulwark/redislimit: unexpected reply from the script: %v", v)
	}
	granted := int(v[0])
	res := Result{
		Allowed:    granted > 0 || n == 0,
		Remaining:  int(max(v[1], 0)),
		RetryAfter: time.Duration(v[2]) * time.Microsecond,
		ResetAfter: time.Duration(max(v[3], 0)) * time.Microsecond,
	}
	if v[2] < 0 {
		res.RetryAfter = -1
	}
	return res, granted, nil
}

// fallback decides by the fail mode for a call Redis could not decide;
// cause is Redis's error (nil when the call did not ask, Redis being known
// to be away).
func (l *Limiter) fallback(ctx context.Context, next bulwark.Next, key string, n int, cause error) (Result, error) {
	l.fallbacks.Add(1)
	switch l.mode {
	case FailOpen:
		return Result{Allowed: true, Degraded: true}, nil
	case FailClosed:
		if cause == nil {
			cause = errUnavailable
		}
		return Result{Degraded: true, RetryAfter: -1}, l.reject(ctx, next, 0, cause)
	}
	lctx := context.WithValue(ctx, localKeyType{}, key)
	for range n {
		if err := l.local.Execute(lctx, nop); err != nil {
			d, _ := bulwark.RetryAfter(err)
			return Result{Degraded: true, RetryAfter: d}, l.reject(ctx, next, d, nil)
		}
	}
	return Result{Allowed: true, Degraded: true}, nil
}

func nop(context.Context) error { return nil }

type localKeyType struct{}

func localKey(ctx context.Context) string {
	k, _ := ctx.Value(localKeyType{}).(string)
	return k
}

// errUnavailable is the cause of a FailClosed rejection made without
// asking Redis, while it is known to be away.
var errUnavailable = errors.New("bulwark/redislimit: redis unavailable")

// reject counts and reports a rejection whose hint is hint (0: none);
// cause, if any, is the Redis error behind a FailClosed rejection.
func (l *Limiter) reject(ctx context.Context, next bulwark.Next, hint time.Duration, cause error) error {
	l.rejected.Add(1)
	var err error = ratelimit.ErrLimited
	switch {
	case cause != nil:
		err = unavailableError{cause}
	case hint > 0:
		err = bulwark.WithRetryAfter(ratelimit.ErrLimited, hint)
	}
	if l.reporter.Listening(ctx, next) {
		l.reporter.Report(ctx, next, bulwark.Event{Type: bulwark.EventRejected, Delay: hint, Err: err})
	}
	return err
}

func (l *Limiter) report(ctx context.Context, next bulwark.Next, e bulwark.Event) {
	if l.reporter.Listening(ctx, next) {
		l.reporter.Report(ctx, next, e)
	}
}

// unavailableError is a FailClosed rejection: it matches
// ratelimit.ErrLimited and bulwark.ErrRejected, and unwraps to Redis's
// error.
type unavailableError struct{ cause error }

func (e unavailableError) Error() string {
	return "bulwark/redislimit: rate limited (redis unavailable: " + e.cause.Error() + ")"
}
func (e unavailableError) Unwrap() error { return e.cause }
func (unavailableError) Is(t error) bool {
	return t == ratelimit.ErrLimited || t == bulwark.ErrRejected
}

// errZero is what the zero Limiter returns.
var errZero error = zeroError{}

type zeroError struct{}

func (zeroError) Error() string {
	return "bulwark/redislimit: a zero redislimit.Limiter has no Redis; build it with redislimit.New"
}
func (zeroError) Is(t error) bool { return t == ratelimit.ErrZeroValue }

func (l *Limiter) rejections(outcome.Outcome) int64 { return l.rejected.Load() }

// Degraded reports whether the limiter takes Redis to be unavailable and
// lets the fail mode decide.
func (l *Limiter) Degraded() bool { return l.health.Degraded() }

// Status returns the limiter's kind ("redislimit"), name, state
// ("degraded" while Redis cannot be asked, else "ok"), the calls it
// rejected since it was built, and the tokens of the shared bucket's
// lease held by the instance. It asks Redis nothing and takes no lock.
func (l *Limiter) Status() bulwark.Status {
	s := bulwark.Status{Kind: kind, Name: l.name, State: "ok", Rejected: l.rejected.Load()}
	if l.health.Degraded() {
		s.State = "degraded"
	}
	if l.lease > 0 {
		s.Tokens = float64(max(l.leases.get("", true).tokens.Load(), 0))
	}
	return s
}

// observe registers the degraded gauge, holding the limiter weakly.
func (l *Limiter) observe() {
	m := l.reporter.Meter()
	g, err := m.Int64ObservableGauge(redisx.MetricDegraded,
		metric.WithDescription("1 while a Redis-backed bulwark policy decides without Redis."),
		metric.WithUnit("{state}"))
	if err != nil {
		return
	}
	attrs := metric.WithAttributes(l.reporter.Attributes()...)
	observe.Register(m, l, func(l *Limiter, o metric.Observer) {
		var v int64
		if l.health.Degraded() {
			v = 1
		}
		o.ObserveInt64(g, v, attrs)
	}, g)
}
