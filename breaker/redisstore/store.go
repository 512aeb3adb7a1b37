package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/internal/core"
	"github.com/bulwark-go/bulwark/internal/observe"
	"github.com/bulwark-go/bulwark/internal/policyopt"
	"github.com/bulwark-go/bulwark/internal/redisx"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/metric"
)

// The event types the store reports.
var (
	// EventDegraded: Redis could not be reached; the breakers decide
	// alone until it answers again. Event.Err is the cause.
	EventDegraded = redisx.EventDegraded
	// EventRecovered: Redis answered again; the breakers share again.
	EventRecovered = redisx.EventRecovered
)

// Store is a breaker.Store kept in Redis: the breakers of one name, in
// every instance whose store uses the same Redis and prefix, share their
// openings and count their half-open probes together. One goroutine per
// Store writes the transitions its breakers publish at once and reads the
// shared state of every watched name each sync interval; Close stops it.
//
// Redis holds, per breaker name, a hash (the last shared transition, its
// sequence number and, for an opening, its end on the server's clock)
// that expires a day after its last write, and, per shared opening, a
// probe count that expires after the breaker's half-open wait. Names are
// escaped inside a Redis Cluster hash tag, so that both keys of a name
// sit in one slot.
//
// The zero Store shares nothing: its breakers decide alone, and its
// AcquireProbe returns an error. A Store is safe for concurrent use.
type Store struct {
	client   redis.UniversalClient
	prefix   string
	interval time.Duration
	timeout  time.Duration
	name     string
	reporter core.Reporter
	health   redisx.Health

	mu       sync.Mutex
	watchers map[string][]*watcher
	pending  map[string]queued
	closed   bool
	wake     chan struct{}
	done     chan struct{}
	exited   chan struct{}
	// callbacks counts the observers' and watchers' calls the store's
	// goroutine is making: a Close made meanwhile does not wait for it.
	callbacks atomic.Int32
}

var (
	_ breaker.Store       = (*Store)(nil)
	_ bulwark.Inspectable = (*Store)(nil)
)

// queued is a transition waiting to be written: an opening keeps its end,
// so that a transition queued while Redis is away is written with the time
// it has left then.
type queued struct {
	t   breaker.Transition
	end time.Time // of an opening
}

type watcher struct {
	apply func(breaker.Transition)
	seq   uint64 // the last shared transition delivered
	fresh bool   // nothing delivered yet
}

// Option configures a Store.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	prefix   string
	interval time.Duration
	timeout  time.Duration
	tel      policyopt.Telemetry
}

const (
	// DefaultPrefix starts the name of every key the store writes.
	DefaultPrefix = "bulwark:breaker:"
	// DefaultSyncInterval is how often the store reads the shared state.
	DefaultSyncInterval = time.Second
	// MinSyncInterval is the shortest sync interval WithSyncInterval
	// accepts. A sync is at least one Redis round trip, from tens of
	// microseconds on loopback to a millisecond or more across a network:
	// an interval shorter than that buys no fresher state, since the
	// ticker fires faster than syncs end and the store syncs back to
	// back, a busy loop that holds a core and a connection against Redis.
	MinSyncInterval = time.Millisecond
	// DefaultTimeout bounds each of the store's Redis round trips.
	DefaultTimeout = 100 * time.Millisecond
	// stateTTL is how long a name's shared state outlives its last write.
	stateTTL = 24 * time.Hour
)

func panicf(option, format string, args ...any) {
	panic(fmt.Sprintf("bulwark/redisstore: "+option+": "+format, args...))
}

// WithPrefix starts the Redis key of every shared breaker with prefix.
// Stores that share a prefix share the breakers of each name. Default:
// "bulwark:breaker:". It panics if prefix is empty.
func WithPrefix(prefix string) Option {
	if prefix == "" {
		panicf("WithPrefix", "prefix must not be empty")
	}
	return optionFunc(func(c *config) { c.prefix = prefix })
}

// WithSyncInterval is how often the store reads the shared state of its
// breakers: an opening elsewhere reaches them within it (and a round
// trip). Transitions of its own breakers are written at once. Default: 1s.
// It panics if d is shorter than MinSyncInterval (1ms).
func WithSyncInterval(d time.Duration) Option {
	if d < MinSyncInterval {
		panicf("WithSyncInterval", "interval must be >= %v, got %v", MinSyncInterval, d)
	}
	return optionFunc(func(c *config) { c.interval = d })
}

// WithTimeout bounds each Redis round trip of the store: each pipeline of
// a sync's writes and reads (up to 256 scripts), a half-open probe's
// request (which is also bounded by the call's context). Default: 100ms.
// It panics if d <= 0.
func WithTimeout(d time.Duration) Option {
	if d <= 0 {
		panicf("WithTimeout", "timeout must be > 0, got %v", d)
	}
	return optionFunc(func(c *config) { c.timeout = d })
}

// WithName names the store in its events and metrics
// (bulwark.policy.name). Default: unnamed. It panics if name is empty.
func WithName(name string) Option {
	name = policyopt.Name("redisstore", name)
	return optionFunc(func(c *config) { c.tel.Name = name })
}

// WithMeterProvider records the store's events and its degraded gauge
// through mp. Default: the global provider. It panics if mp is nil.
func WithMeterProvider(mp metric.MeterProvider) Option {
	mp = policyopt.MeterProvider("redisstore", mp)
	return optionFunc(func(c *config) { c.tel.MeterProvider = mp })
}

// WithObserver adds an observer of the store's events: EventDegraded and
// EventRecovered. It runs on the store's goroutine (see Close), or, for
// the outcome of a half-open probe's request, on the caller's. Default:
// none. It panics if o is nil.
func WithObserver(o bulwark.Observer) Option {
	o = policyopt.Observer("redisstore", o)
	return optionFunc(func(c *config) { c.tel.Observers = append(c.tel.Observers, o) })
}

// New returns a Store that keeps shared breaker state in Redis through
// client (any go-redis client), and starts its goroutine; Close stops it.
// The client stays the caller's to close, after the Store. It panics if
// client is nil.
func New(client redis.UniversalClient, opts ...Option) *Store {
	if redisx.IsNil(client) {
		panicf("New", "client must not be nil")
	}
	c := config{prefix: DefaultPrefix, interval: DefaultSyncInterval, timeout: DefaultTimeout}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	s := &Store{
		client:   redisx.View(client, c.timeout),
		prefix:   c.prefix,
		interval: c.interval,
		timeout:  c.timeout,
		name:     c.tel.Name,
		reporter: c.tel.Reporter(kind),
		watchers: map[string][]*watcher{},
		pending:  map[string]queued{},
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
		exited:   make(chan struct{}),
	}
	s.observe()
	go s.run()
	return s
}

const kind = "redisstore"

// Close stops the store's goroutine and waits for it. Its breakers decide
// alone from then on. Close is idempotent. Observers of the store and the
// functions Watch delivers to (a breaker's, and through it the breaker's
// observers) run on the store's goroutine: a Close called while one of
// them runs, from it say, does not wait, and the goroutine ends as soon
// as that call returns.
func (s *Store) Close() error {
	if s.done == nil {
		return nil
	}
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
	s.mu.Unlock()
	if s.callbacks.Load() > 0 {
		return nil
	}
	<-s.exited
	return nil
}

// callback makes f, a call of observers or watchers, on the store's
// goroutine.
func (s *Store) callback(f func()) {
	s.callbacks.Add(1)
	defer s.callbacks.Add(-1)
	f()
}

func (s *Store) isClosed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

func (s *Store) key(name string) string { return s.prefix + "{" + redisx.EscapeKey(name) + "}" }

// Publish queues t, a transition of this instance's breaker named name, and
// wakes the store's goroutine to write it. While Redis is away the latest
// transition of each name waits to be written: an opening is written with
// the time it has left when it is written, and not at all once it has
// passed.
func (s *Store) Publish(name string, t breaker.Transition) {
	if s.done == nil {
		return
	}
	q := queued{t: t}
	if t.State == breaker.Open {
		q.end = time.Now().Add(t.OpenFor)
	}
	s.mu.Lock()
	if !s.closed {
		s.pending[name] = q
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Watch delivers the shared transitions of name to apply, from the
// store's goroutine (see Close), until stop is called; the first is the
// shared state at the next sync, if Redis holds one.
func (s *Store) Watch(name string, apply func(breaker.Transition)) (stop func()) {
	if s.done == nil {
		return func() {}
	}
	w := &watcher{apply: apply, fresh: true}
	s.mu.Lock()
	s.watchers[name] = append(s.watchers[name], w)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		ws := s.watchers[name]
		for i, x := range ws {
			if x == w {
				s.watchers[name] = append(ws[:i:i], ws[i+1:]...)
				break
			}
		}
		if len(s.watchers[name]) == 0 {
			delete(s.watchers, name)
		}
	}
}

// errAway is AcquireProbe's answer while Redis is known to be away, or for
// the zero or closed Store: the breaker decides alone.
var errAway = errors.New("bulwark/redisstore: redis unavailable")

// AcquireProbe asks Redis for one of the fleet's probes of the shared
// opening seq of name, within the store's timeout and ctx. While Redis is
// known to be away it answers at once with an error, so that the breaker
// decides alone. A request that ctx's deadline ends counts as Redis not
// answering, as one that the timeout ends does; one that ctx's
// cancellation ends does not.
func (s *Store) AcquireProbe(ctx context.Context, name string, seq uint64, probes int, wait time.Duration) (bool, error) {
	if s.done == nil || s.isClosed() || !s.health.Ask(s.interval) {
		return false, errAway
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	cctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	n, err := probeScript.Run(cctx, s.client, []string{s.key(name) + ":probes:" + strconv.FormatUint(seq, 10)},
		max(wait.Milliseconds(), 1)).Int64()
	if err != nil {
		if redisx.CountsAgainstRedis(ctx, err) && !redisx.IsScriptError(err) {
			s.failed(err)
		}
		if redisx.CallerGone(ctx, err) {
			return false, ctx.Err()
		}
		return false, err
	}
	s.succeeded()
	return n <= int64(probes), nil
}

func (s *Store) failed(err error) {
	if s.health.Failed(s.interval) {
		s.report(bulwark.Event{Type: EventDegraded, Err: err, Reason: "redis_unavailable"})
	}
}

func (s *Store) succeeded() {
	if s.health.Succeeded() {
		s.report(bulwark.Event{Type: EventRecovered})
	}
}

func (s *Store) report(e bulwark.Event) {
	ctx := context.Background()
	if s.reporter.Listening(ctx, bulwark.Next{}) {
		s.reporter.Report(ctx, bulwark.Next{}, e)
	}
}

// run writes what is published and reads the shared state, each interval
// and whenever woken, until Close.
func (s *Store) run() {
	defer close(s.exited)
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-s.wake:
		case <-t.C:
		}
		s.sync()
	}
}

// sync writes the pending transitions, then reads the state of every
// watched name and delivers what changed. Each is done in pipelined round
// trips of at most batch scripts, each bounded by the timeout; the first
// that fails to reach Redis ends the sync, and the transitions not
// written wait for the next.
func (s *Store) sync() {
	s.mu.Lock()
	pending := make([]string, 0, len(s.pending))
	queue := s.pending
	for n := range queue {
		pending = append(pending, n)
	}
	s.pending = map[string]queued{}
	names := make([]string, 0, len(s.watchers))
	for n := range s.watchers {
		names = append(names, n)
	}
	s.mu.Unlock()

	if len(pending) > 0 {
		_, sent, err := s.roundTrips(publishScript, len(pending), func(i int) (string, []any) {
			q := queue[pending[i]]
			state, left := "closed", time.Duration(0)
			if q.t.State == breaker.Open {
				state, left = "open", time.Until(q.end)
			}
			return s.key(pending[i]), []any{state, max(left.Microseconds(), 1), q.t.Reason, stateTTL.Milliseconds()}
		}, func(i int) bool {
			q := queue[pending[i]]
			return q.t.State != breaker.Open || time.Until(q.end) > 0 // an opening that has passed is not shared
		})
		if err != nil {
			for _, n := range pending[sent:] {
				s.requeue(n, queue[n])
			}
			if err != errClosed {
				s.callback(func() { s.failed(err) })
			}
			return
		}
	}
	if len(names) == 0 {
		if len(pending) > 0 {
			s.callback(s.succeeded)
		}
		return
	}
	cmds, read, err := s.roundTrips(readScript, len(names), func(i int) (string, []any) {
		return s.key(names[i]), nil
	}, nil)
	switch {
	case err == errClosed:
	case err != nil:
		s.callback(func() { s.failed(err) })
	default:
		s.callback(s.succeeded)
	}
	for i, n := range names[:read] {
		v, err := cmds[i].Slice()
		if err != nil || len(v) != 3 {
			continue // a script error at that key: its state cannot be read
		}
		seq, _ := v[0].(int64)
		state, _ := v[1].(string)
		left, _ := v[2].(int64)
		s.deliver(n, uint64(seq), state, time.Duration(left)*time.Microsecond)
	}
}

// errClosed ends a sync that Close interrupted: it says nothing of Redis.
var errClosed = errors.New("bulwark/redisstore: closed")

// batch bounds the scripts of one pipelined round trip, so that a round
// trip fits the timeout however many breakers the store serves.
const batch = 256

// roundTrips runs sc for the items 0 to n-1 that want says to run (all if
// want is nil), with the key and arguments that call gives, built as
// their round trip is sent: in pipelined round trips of at most batch
// scripts, each bounded by the store's timeout, loading the script when
// Redis has lost it. It stops at the first round trip that fails to
// reach Redis, or when the store is closed, and returns the replies (nil
// for an item not run), the items settled (those before the failed round
// trip) and the error. A script's own error (a wrong type at its key) is
// in its reply, and fails no round trip.
func (s *Store) roundTrips(sc *redis.Script, n int, call func(i int) (string, []any), want func(i int) bool) ([]*redis.Cmd, int, error) {
	cmds := make([]*redis.Cmd, n)
	idx := make([]int, 0, min(n, batch))
	for from := 0; from < n; {
		if s.isClosed() {
			return cmds, from, errClosed
		}
		idx = idx[:0]
		to := from
		for ; to < n && len(idx) < batch; to++ {
			if want == nil || want(to) {
				idx = append(idx, to)
			}
		}
		if len(idx) > 0 {
			if err := s.roundTrip(sc, cmds, idx, call); err != nil {
				return cmds, from, err
			}
		}
		from = to
	}
	return cmds, n, nil
}

// roundTrip runs the scripts of the items idx in one pipeline within the
// timeout, and once more after loading the script if Redis had lost it.
func (s *Store) roundTrip(sc *redis.Script, cmds []*redis.Cmd, idx []int, call func(i int) (string, []any)) error {
	run := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
		defer cancel()
		pipe := s.client.Pipeline()
		for _, i := range idx {
			key, args := call(i)
			cmds[i] = sc.EvalSha(ctx, pipe, []string{key}, args...)
		}
		_, err := pipe.Exec(ctx)
		return err
	}
	err := run()
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
		err = sc.Load(ctx, s.client).Err()
		cancel()
		if err == nil {
			err = run()
		}
	}
	if err != nil && !redisx.IsScriptError(err) {
		return err
	}
	return nil
}

// requeue puts back a transition that could not be written, unless a
// newer one of the same name was published meanwhile.
func (s *Store) requeue(name string, q queued) {
	s.mu.Lock()
	if _, ok := s.pending[name]; !ok && !s.closed {
		s.pending[name] = q
	}
	s.mu.Unlock()
}

// deliver hands the shared state of name to the watchers that have not
// seen it, outside the store's lock. A sequence number other than the
// last delivered one is news, a smaller one included: Redis lost the key
// (it expired, or the server restarted empty).
func (s *Store) deliver(name string, seq uint64, state string, left time.Duration) {
	if seq == 0 {
		return
	}
	t := breaker.Transition{State: breaker.Closed, Seq: seq, Reason: breaker.ReasonShared}
	if state == "open" {
		t.State, t.OpenFor = breaker.Open, left
	}
	var todo []func(breaker.Transition)
	s.mu.Lock()
	for _, w := range s.watchers[name] {
		if w.fresh || w.seq != seq {
			w.fresh, w.seq = false, seq
			todo = append(todo, w.apply)
		}
	}
	s.mu.Unlock()
	for _, f := range todo {
		s.callback(func() { f(t) })
	}
}

// Degraded reports whether the store takes Redis to be unavailable.
func (s *Store) Degraded() bool { return s.health.Degraded() }

// Status returns the store's kind ("redisstore"), name and state
// ("degraded" while Redis cannot be reached, else "ok"). It asks Redis
// nothing.
func (s *Store) Status() bulwark.Status {
	st := bulwark.Status{Kind: kind, Name: s.name, State: "ok"}
	if s.health.Degraded() {
		st.State = "degraded"
	}
	return st
}

func (s *Store) observe() {
	m := s.reporter.Meter()
	g, err := m.Int64ObservableGauge(redisx.MetricDegraded,
		metric.WithDescription("1 while a Redis-backed bulwark policy decides without Redis."),
		metric.WithUnit("{state}"))
	if err != nil {
		return
	}
	attrs := metric.WithAttributes(s.reporter.Attributes()...)
	observe.Register(m, s, func(s *Store, o metric.Observer) {
		var v int64
		if s.health.Degraded() {
			v = 1
		}
		o.ObserveInt64(g, v, attrs)
	}, g)
}

// publishScript writes a transition: it numbers it, and stores an
// opening's end on the server's clock. KEYS[1] the name's hash; ARGV
// state ("open", "closed"), open for (µs), reason, TTL (ms).
var publishScript = redis.NewScript(`
if redis.replicate_commands then pcall(redis.replicate_commands) end
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local seq = redis.call("HINCRBY", KEYS[1], "seq", 1)
local ends = 0
if ARGV[1] == "open" then ends = now + tonumber(ARGV[2]) end
redis.call("HSET", KEYS[1], "state", ARGV[1], "until", string.format("%d", ends), "reason", ARGV[3])
redis.call("PEXPIRE", KEYS[1], ARGV[4])
return seq
`)

// readScript returns {seq, state, µs left of an opening} of KEYS[1], or
// {0, "", 0} when Redis holds nothing for it.
var readScript = redis.NewScript(`
local v = redis.call("HMGET", KEYS[1], "seq", "state", "until")
if not v[1] then return {0, "", 0} end
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local left = 0
if v[2] == "open" then left = tonumber(v[3]) - now end
return {tonumber(v[1]), v[2], left}
`)

// probeScript counts a probe of one shared opening; the count expires
// after the half-open wait (ARGV[1], ms), which frees the fleet's probes
// of an instance that died holding one.
var probeScript = redis.NewScript(`
local n = redis.call("INCR", KEYS[1])
if n == 1 then redis.call("PEXPIRE", KEYS[1], ARGV[1]) end
return n
`)
