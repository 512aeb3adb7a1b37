package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/counter"
	"golang.org/x/time/rate"
)

// Keyed gives each key (a tenant, a user, a client address, a route, read
// from the call's context) a token bucket of its own. See the package
// documentation for the memory bound and its accuracy trade-off.
type Keyed struct {
	limit    rate.Limit
	burst    int
	key      func(context.Context) string
	maxWait  time.Duration
	idle     time.Duration
	seed     maphash.Seed
	shards   []keyShard
	reporter *bulwark.Reporter
	rejected counter.Striped
}

var _ bulwark.Stage = (*Keyed)(nil)

// keyShard is one lock's worth of keys, in least-recently-used order.
type keyShard struct {
	mu         sync.Mutex
	keys       map[string]*keyEntry
	head, tail *keyEntry // most and least recently used
	max        int
	_          [64]byte // keeps shards' locks on separate cache lines
}

type keyEntry struct {
	key        string
	lim        *rate.Limiter
	last       time.Time
	prev, next *keyEntry
}

const (
	defaultMaxKeys = 10000
	defaultIdle    = 10 * time.Minute
	maxShards      = 16
	// expireScan bounds how many idle keys one call forgets, so that no
	// call pays for a long idle spell.
	expireScan = 2
)

// NewKeyed returns a limiter that gives each key returned by key a token
// bucket of limit tokens a second and burst at most, full at first. It
// remembers WithMaxKeys keys (10000 by default) and forgets a key idle for
// WithIdleExpiry (10 minutes). It panics if limit is negative or NaN, burst
// < 1 with a finite limit, or key is nil.
func NewKeyed(limit rate.Limit, burst int, key func(ctx context.Context) string, opts ...Option) *Keyed {
	checkLimit("NewKeyed", limit, burst)
	if key == nil {
		panicf("NewKeyed", "key function must not be nil")
	}
	c := newConfig("keyed", opts)
	if c.maxKeys == 0 {
		c.maxKeys = defaultMaxKeys
	}
	if c.idle == 0 {
		c.idle = defaultIdle
	}
	n := 1
	if c.maxKeys >= maxShards*64 {
		n = maxShards
	}
	k := &Keyed{
		limit: limit, burst: burst, key: key, maxWait: c.maxWait, idle: c.idle,
		seed: maphash.MakeSeed(), shards: make([]keyShard, n),
		reporter: c.tel.Reporter("ratelimit"),
	}
	for i := range k.shards {
		k.shards[i].keys = make(map[string]*keyEntry)
		k.shards[i].max = c.maxKeys / n
		if i < c.maxKeys%n {
			k.shards[i].max++
		}
	}
	return k
}

// Execute runs fn if the bucket of the call's key has a token; otherwise
// it returns an error matching ErrLimited without running fn.
func (k *Keyed) Execute(ctx context.Context, fn func(context.Context) error) error {
	return bulwark.RunStage(ctx, k, fn)
}

// ExecuteStage implements bulwark.Stage.
func (k *Keyed) ExecuteStage(ctx context.Context, next bulwark.Next) error {
	now := time.Now()
	lim := k.limiter(k.key(ctx), now)
	if lim.AllowN(now, 1) {
		return next.Run(ctx)
	}
	wait, err := takeSlow(ctx, lim, k.maxWait, now)
	if err != nil {
		return err
	}
	if wait >= 0 {
		k.rejected.Add(1)
		rerr := ErrLimited
		if wait > 0 {
			rerr = &limitedError{after: wait}
		}
		// Counted per limiter, never per key: key values are unbounded.
		k.reporter.Report(ctx, next, &bulwark.Event{Type: bulwark.EventRejected, Delay: wait, Err: rerr})
		return rerr
	}
	return next.Run(ctx)
}

// limiter returns key's bucket, making it if needed, and marks it used at
// now.
func (k *Keyed) limiter(key string, now time.Time) *rate.Limiter {
	s := &k.shards[0]
	if len(k.shards) > 1 {
		s = &k.shards[maphash.String(k.seed, key)%uint64(len(k.shards))]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked(now, k.idle)
	e := s.keys[key]
	if e == nil {
		if len(s.keys) >= s.max {
			s.removeLocked(s.tail)
		}
		e = &keyEntry{key: key, lim: rate.NewLimiter(k.limit, k.burst)}
		s.keys[key] = e
	} else {
		s.unlinkLocked(e)
	}
	e.last = now
	s.pushFrontLocked(e)
	return e.lim
}

// expireLocked forgets up to expireScan keys idle longer than idle. It
// requires s.mu held.
func (s *keyShard) expireLocked(now time.Time, idle time.Duration) {
	for range expireScan {
		if s.tail == nil || now.Sub(s.tail.last) <= idle {
			return
		}
		s.removeLocked(s.tail)
	}
}

func (s *keyShard) removeLocked(e *keyEntry) {
	s.unlinkLocked(e)
	delete(s.keys, e.key)
}

func (s *keyShard) unlinkLocked(e *keyEntry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		s.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		s.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (s *keyShard) pushFrontLocked(e *keyEntry) {
	e.next = s.head
	if s.head != nil {
		s.head.prev = e
	}
	s.head = e
	if s.tail == nil {
		s.tail = e
	}
}

// Len returns the number of keys remembered.
func (k *Keyed) Len() int {
	n := 0
	for i := range k.shards {
		s := &k.shards[i]
		s.mu.Lock()
		n += len(s.keys)
		s.mu.Unlock()
	}
	return n
}

// KeySnapshot is what a Keyed limiter knows at one moment.
type KeySnapshot struct {
	Limit    rate.Limit
	Burst    int
	Keys     int   // remembered now
	Rejected int64 // rejected calls since creation, all keys together
}

// Snapshot returns the limiter's settings, its key count and its counts.
func (k *Keyed) Snapshot() KeySnapshot {
	return KeySnapshot{Limit: k.limit, Burst: k.burst, Keys: k.Len(), Rejected: k.rejected.Load()}
}

// Tokens returns the tokens in key's bucket, and false if the key is not
// remembered. It does not mark the key used.
func (k *Keyed) Tokens(key string) (float64, bool) {
	s := &k.shards[0]
	if len(k.shards) > 1 {
		s = &k.shards[maphash.String(k.seed, key)%uint64(len(k.shards))]
	}
	s.mu.Lock()
	e := s.keys[key]
	s.mu.Unlock()
	if e == nil {
		return 0, false
	}
	return e.lim.Tokens(), true
}
