package redislimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/clock"
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
	limit     rate.Limit
	burst     int
	interval  string  // one token's refill time in µs, for the script
	tokenTime float64 // one token's refill time in ns
	key       func(context.Context) string
	prefix    string
	plainKey  string // the Redis key of the shared bucket (no WithKey)
	mode      FailMode
	timeout   time.Duration
	recheck   time.Duration
	lease     int
	lifetime  time.Duration // of a lease
	leases    leaseTable
	clock     clock.Clock   // of the leases
	local     *localBuckets // FailLocal's buckets
	epoch     time.Time     // of the local buckets, on clock
	health    redisx.Health
	name      string
	reporter  core.Reporter
	rejected  counter.Striped
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

// isInf reports an infinite limit: rate.Inf (math.MaxFloat64) or +Inf, as
// for ratelimit.New, where both mean no limit.
func isInf(limit rate.Limit) bool { return limit >= rate.Inf }

// maxTolerance bounds a burst's refill time, in µs, so that every time the
// script computes stays exact in a double (now is about 2^51 µs).
const maxTolerance = 1 << 51

// New returns a Limiter of limit tokens a second and burst tokens at most,
// kept in Redis through client (any go-redis client: single node,
// cluster, sentinel, ring). An infinite limit (rate.Inf, or +Inf, as for
// ratelimit.New) admits every call without asking Redis. Without options
// every call shares one bucket, a decision's Redis round trip is bounded
// by 50ms and the caller's deadline, and while Redis cannot be asked each
// instance decides with a local bucket of the whole limit (FailLocal). It
// panics, naming the argument and the value, for a nil client, a limit
// that is not positive (or NaN, or above 1e6 a second and finite), a burst
// below 1 with a finite limit, or a burst whose refill time exceeds 2^51
// µs (71 years). Unlike ratelimit.New it rejects a limit of 0 (a burst,
// then nothing ever again): a bucket is kept in Redis for its refill time
// only, and one that never refills has none.
func New(client redis.UniversalClient, limit rate.Limit, burst int, opts ...Option) *Limiter {
	if redisx.IsNil(client) {
		panicf("New", "client must not be nil")
	}
	if math.IsNaN(float64(limit)) || limit <= 0 {
		panicf("New", "limit must be > 0 (or rate.Inf), got %v", float64(limit))
	}
	if limit > maxLimit && !isInf(limit) {
		panicf("New", "limit must be at most 1e6 a second (or rate.Inf), got %v", float64(limit))
	}
	if burst < 1 && !isInf(limit) {
		panicf("New", "burst must be at least 1 with a finite limit, got %d", burst)
	}
	interval := 1e6 / float64(limit)
	if !isInf(limit) && interval*float64(burst) > maxTolerance {
		const year = 365.25 * 24 * 3600 * 1e6 // µs
		panicf("New", "burst %d takes %.3g years to refill at %v a second, beyond 2^51µs (71 years)", burst,
			interval*float64(burst)/year, float64(limit))
	}
	c := newConfig(opts)
	l := &Limiter{
		client:    redisx.View(client, c.timeout),
		limit:     limit,
		burst:     burst,
		interval:  strconv.FormatFloat(interval, 'g', 17, 64),
		tokenTime: interval * 1e3,
		key:       c.key,
		prefix:    c.prefix,
		mode:      c.mode,
		timeout:   c.timeout,
		recheck:   min(c.timeout, math.MaxInt64/2) * 2,
		lease:     leaseSize(c.lease, limit, burst, c.lifetime),
		lifetime:  c.lifetime,
		clock:     c.clock,
		name:      c.tel.Name,
		reporter:  c.tel.Reporter(kind),
	}
	l.plainKey = l.redisKey("")
	if c.mode == FailLocal && !isInf(limit) {
		l.local = newLocalBuckets(float64(limit)*c.share, max(1, int(float64(burst)*c.share)))
		l.epoch = l.clock.Now()
	}
	observe.Calls(l.reporter, l, (*Limiter).rejections, outcome.Rejected)
	l.observe()
	return l
}

const kind = "redislimit"

// leaseSize is the most tokens a lease takes: n, but no more than the
// burst, nor than the limit brings in a lease's lifetime, so that a lease
// spent at the limit's pace is spent before it expires; at least one.
func leaseSize(n int, limit rate.Limit, burst int, lifetime time.Duration) int {
	if n == 0 {
		return 0
	}
	n = min(n, burst)
	if per := float64(limit) * lifetime.Seconds(); per < float64(n) {
		n = max(1, int(per))
	}
	return n
}

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
	if isInf(l.limit) {
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
	_, err := l.decide(ctx, next, key, rkey, 1)
	return err
}

// leased takes n tokens from the instance's lease of the bucket. When it
// holds too few, a call for one token takes a new lease from Redis (what
// the bucket holds, up to the lease size), one caller at a time; a call
// for more asks Redis directly. After a refill that found the bucket
// short, the instance leaves Redis alone for its backoff: calls it cannot
// serve from the lease meanwhile are rejected in the instance.
func (l *Limiter) leased(ctx context.Context, next bulwark.Next, key, rkey string, n int) (Result, error) {
	now := l.clock.Now().UnixNano()
	ls := l.leases.get(rkey, rkey == l.plainKey, now)
	if ls.take(n, now) {
		return Result{Allowed: true, Remaining: int(max(ls.tokens.Load(), 0))}, nil
	}
	if n > 1 {
		return l.decide(ctx, next, key, rkey, n)
	}
	if wait := ls.refused(now); wait > 0 {
		return Result{RetryAfter: wait}, l.reject(ctx, next, wait, nil)
	}
	if err := ls.lock(ctx); err != nil {
		return Result{}, err
	}
	now = l.clock.Now().UnixNano()
	var v verdict
	switch wait := ls.refused(now); {
	case ls.take(1, now): // refilled while this call waited
		v.res = Result{Allowed: true, Remaining: int(max(ls.tokens.Load(), 0))}
	case wait > 0:
		v = verdict{res: Result{RetryAfter: wait}, rejected: true, hint: wait}
	default:
		v = l.ask(ctx, key, rkey, 1, ls)
	}
	ls.unlock()
	return l.settle(ctx, next, v)
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
	if isInf(l.limit) {
		return Result{Allowed: true, Remaining: l.burst}, nil
	}
	rkey := l.redisKey(key)
	if l.lease > 0 && n > 0 {
		return l.leased(ctx, bulwark.Next{}, key, rkey, n)
	}
	return l.decide(ctx, bulwark.Next{}, key, rkey, n)
}

// decide asks Redis for n tokens of the bucket at rkey (user key key), or
// lets the fail mode decide when Redis cannot be asked.
func (l *Limiter) decide(ctx context.Context, next bulwark.Next, key, rkey string, n int) (Result, error) {
	return l.settle(ctx, next, l.ask(ctx, key, rkey, n, nil))
}

// verdict is a decision and what it has to report. It is made under the
// lease's refill lock, if any, and reported once the lock is released, so
// that an observer may call the limiter.
type verdict struct {
	res      Result
	err      error         // the caller's ctx.Err(), returned as is
	health   healthChange  // what the decision's round trip did to the health record
	failure  error         // the round trip's error, for EventDegraded
	rejected bool          // the tokens were refused
	hint     time.Duration // of a rejection; 0 or less: none
	cause    error         // of a FailClosed rejection
}

type healthChange uint8

const (
	unchanged healthChange = iota
	degraded
	recovered
)

// settle reports what v has to report and returns its decision.
func (l *Limiter) settle(ctx context.Context, next bulwark.Next, v verdict) (Result, error) {
	switch v.health {
	case degraded:
		l.report(ctx, next, bulwark.Event{Type: EventDegraded, Err: v.failure, Reason: "redis_unavailable"})
	case recovered:
		l.report(ctx, next, bulwark.Event{Type: EventRecovered})
	}
	if v.err != nil {
		return v.res, v.err
	}
	if v.rejected {
		return v.res, l.reject(ctx, next, v.hint, v.cause)
	}
	return v.res, nil
}

// ask decides like decide, reporting nothing. With ls, the lease to
// refill (n = 1), it asks for a lease of tokens, takes one and leaves the
// rest in ls; it requires the refill lock held.
func (l *Limiter) ask(ctx context.Context, key, rkey string, n int, ls *lease) verdict {
	if !l.health.Ask(l.recheck) {
		return l.fallback(key, n, nil)
	}
	if err := ctx.Err(); err != nil {
		return verdict{err: err} // gone before asking: that says nothing of Redis
	}
	want := n
	if ls != nil {
		want = l.lease
	}
	res, granted, err := l.eval(ctx, rkey, want, ls != nil)
	if redisx.IsScriptError(err) {
		// Redis answered, but cannot decide this key: the fail mode
		// decides its calls, and the limiter stays healthy for the
		// others.
		v := l.fallback(key, n, err)
		if l.health.Succeeded() {
			v.health = recovered
		}
		return v
	}
	if err != nil {
		var v verdict
		if redisx.CallerGone(ctx, err) {
			v.err = ctx.Err()
		} else {
			v = l.fallback(key, n, err)
		}
		if redisx.CountsAgainstRedis(ctx, err) && l.health.Failed(l.recheck) {
			v.health, v.failure = degraded, err
		}
		return v
	}
	var v verdict
	if l.health.Succeeded() {
		v.health = recovered
	}
	if ls != nil {
		now := l.clock.Now().UnixNano()
		if granted < want {
			ls.misses++
			res.RetryAfter = max(res.RetryAfter, l.backoff(ls.misses))
			ls.refuse(res.RetryAfter, now)
		} else {
			ls.misses = 0
		}
		if granted > 0 {
			ls.fill(int64(granted-1), now+int64(l.lifetime))
			res.Remaining, res.RetryAfter = granted-1, 0
		}
	}
	v.res = res
	if !res.Allowed && n > 0 {
		v.rejected, v.hint = true, res.RetryAfter
	}
	return v
}

// The script's modes, boxed once.
var allOrNone, asMany any = "0", "1"

// backoff is how long an instance whose refills of a lease found the
// bucket short misses times in a row leaves Redis alone: one token's
// refill time, doubled with each miss, up to a whole lease's. Under
// contention an instance thus asks Redis about once per lease's refill
// time; a refill that gets a whole lease ends the backoff.
func (l *Limiter) backoff(misses int) time.Duration {
	w := min(l.tokenTime*math.Ldexp(1, min(misses-1, 62)), l.tokenTime*float64(l.lease))
	return time.Duration(min(w, math.MaxInt64/2))
}

// eval runs the script within the timeout and the caller's deadline, for
// n tokens, or, for a lease (partial), for as many of them as there are.
func (l *Limiter) eval(ctx context.Context, rkey string, n int, partial bool) (Result, int, error) {
	cctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	mode := allOrNone
	if partial {
		mode = asMany
	}
	v, err := gcra.Run(cctx, l.client, []string{rkey}, l.interval, l.burst, n, mode).Int64Slice()
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
func (l *Limiter) fallback(key string, n int, cause error) verdict {
	switch l.mode {
	case FailOpen:
		return verdict{res: Result{Allowed: true, Degraded: true}}
	case FailClosed:
		if cause == nil {
			cause = errUnavailable
		}
		return verdict{res: Result{Degraded: true, RetryAfter: -1}, rejected: true, cause: cause}
	}
	res := l.local.take(key, n, int64(l.clock.Since(l.epoch)))
	return verdict{res: res, rejected: !res.Allowed, hint: res.RetryAfter}
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

// unavailableError is a FailClosed rejection (Redis unavailable, or
// refusing the script at the key): it matches
// ratelimit.ErrLimited and bulwark.ErrRejected, and unwraps to Redis's
// error.
type unavailableError struct{ cause error }

func (e unavailableError) Error() string {
	if redisx.IsScriptError(e.cause) {
		return "bulwark/redislimit: rate limited (redis refused the script: " + e.cause.Error() + ")"
	}
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
		s.Tokens = float64(max(l.leases.get("", true, 0).tokens.Load(), 0))
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
