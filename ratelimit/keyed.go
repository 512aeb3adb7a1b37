package ratelimit

import (
	"context"
	"hash/maphash"
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

// Keyed gives each key (a tenant, a user, a client address, a route, read
// from the call's context by the function given to NewKeyed) a token
// bucket of its own, which works as a Limiter's. Its memory is bounded: it
// remembers at most WithMaxKeys keys (10000), and past that a new key makes
// it forget the least recently used one (of the new key's lock, when
// WithMaxKeys is 1024 or more),
// whose next call finds a full bucket; it also forgets a key idle for WithIdleExpiry (10 minutes) once
// its bucket is full again, which changes nothing a call sees.
//
// Execute is the method to call, or the Keyed as a stage of a bulwark
// pipeline; Tokens reads a key's bucket, Len the number of keys, Status
// and Snapshot the rest. A Keyed limiter is safe for concurrent use.
//
// Its zero value has no limit: its Execute runs nothing and returns an
// error matching ErrZeroValue. Build one with NewKeyed.
type Keyed struct {
	rule     rule
	key      func(context.Context) string
	epoch    time.Time
	maxWait  time.Duration
	idle     int64 // ns
	maxKeys  int64
	keys     atomic.Int64 // remembered, plus those being added
	seed     maphash.Seed
	shards   []keyShard
	name     string
	reporter core.Reporter
	rejected counter.Striped
}

var (
	_ bulwark.Stage       = (*Keyed)(nil)
	_ bulwark.Inspectable = (*Keyed)(nil)
)

// keyShard is one lock's worth of keys, in least-recently-used order.
type keyShard struct {
	mu         sync.Mutex
	keys       map[string]*keyEntry
	head, tail *keyEntry // most and least recently used
	_          [64]byte  // keeps shards' locks on separate cache lines
}

type keyEntry struct {
	key        string
	state      int64 // the key's bucket, as rule.take reads it
	last       int64 // last use, ns since the limiter's epoch
	prev, next *keyEntry
	k          *Keyed // for the hint of the key's rejections
}

const (
	defaultMaxKeys = 10000
	defaultIdle    = 10 * time.Minute
	maxShards      = 16
	// minShardedKeys is the smallest cap spread over maxShards locks;
	// below it one lock keeps the least-recently-used order exact.
	minShardedKeys = 1024
	// expireScan bounds how many idle keys one call forgets, so that no
	// call pays for a long idle spell.
	expireScan = 2
)

// NewKeyed returns a limiter that gives each key returned by key a token
// bucket of limit tokens a second and burst at most, full at first. It
// remembers WithMaxKeys keys (10000 by default) and forgets a key idle for
// WithIdleExpiry (10 minutes). It panics if limit is negative or NaN, burst
// < 1 with a finite limit, or key is nil.
func NewKeyed(limit rate.Limit, burst int, key func(ctx context.Context) string, opts ...KeyedOption) *Keyed {
	checkLimit("NewKeyed", limit, burst)
	if key == nil {
		panicf("NewKeyed", "key function must not be nil")
	}
	c := newConfig(opts, KeyedOption.applyKeyed)
	if c.maxKeys == 0 {
		c.maxKeys = defaultMaxKeys
	}
	if c.idle == 0 {
		c.idle = defaultIdle
	}
	n := 1
	if c.maxKeys >= minShardedKeys {
		n = maxShards
	}
	k := &Keyed{
		rule: newRule(limit, burst), key: key, epoch: time.Now(), maxWait: c.maxWait,
		idle: int64(c.idle), maxKeys: int64(c.maxKeys), seed: maphash.MakeSeed(),
		shards: make([]keyShard, n), name: c.tel.Name, reporter: c.tel.Reporter(kind),
	}
	observe.Calls(k.reporter, k, (*Keyed).rejections, outcome.Rejected)
	return k
}

// Execute runs fn if the bucket of the call's key has a token; otherwise
// it returns an error matching ErrLimited without running fn.
func (k *Keyed) Execute(ctx context.Context, fn func(context.Context) error) error {
	return bulwark.RunStage(ctx, k, fn)
}

// ExecuteStage implements bulwark.Stage.
func (k *Keyed) ExecuteStage(ctx context.Context, next bulwark.Next) error {
	if k.shards == nil {
		return errZeroKeyed
	}
	if k.rule.kind == unlimited {
		return next.Run(ctx) // no key needs a bucket
	}
	now := max(int64(time.Since(k.epoch)), 0)
	key := k.key(ctx)
	e, s := k.lookup(key, now) // locks s.mu
	was := e.state
	n, wait := k.rule.take(was, now)
	if wait <= 0 {
		e.state = n
		s.mu.Unlock()
		return next.Run(ctx)
	}
	if !mayWait(ctx, k.epoch, now, k.maxWait, wait) {
		s.mu.Unlock()
		hint := k.rule.hintFor(wait)
		k.rejected.Add(1)
		err := ErrLimited
		if hint > 0 {
			err = limitedError[*keyEntry]{e}
		}
		// Counted per limiter, never per key: key values are unbounded.
		if k.reporter.Listening(ctx, next) {
			k.reporter.Report(ctx, next, bulwark.Event{Type: bulwark.EventRejected, Delay: hint, Err: err})
		}
		return err
	}
	e.state = n
	s.mu.Unlock()
	if err := sleep(ctx, wait); err != nil {
		s.mu.Lock()
		if e.state == n { // nothing was taken after it: give it back
			e.state = was
		}
		s.mu.Unlock()
		return err
	}
	return next.Run(ctx)
}

// retryAfter is the hint of the rejections of e's key: the wait of a call
// for the key that came now, 0 if its token is there or the key was
// forgotten (its next call finds a full bucket).
func (e *keyEntry) retryAfter() time.Duration {
	k := e.k
	now := max(int64(time.Since(k.epoch)), 0)
	s := &k.shards[k.shard(e.key)]
	s.mu.Lock()
	cur := s.keys[e.key]
	var state int64
	if cur != nil {
		state = cur.state
	}
	s.mu.Unlock()
	if cur == nil {
		return 0
	}
	_, wait := k.rule.take(state, now)
	return max(k.rule.hintFor(wait), 0)
}

// shard returns the index of key's lock.
func (k *Keyed) shard(key string) int {
	if len(k.shards) == 1 {
		return 0
	}
	return int(maphash.String(k.seed, key) % uint64(len(k.shards)))
}

// lookup returns key's entry, marked used at now, and its shard, whose
// lock it holds; it makes the entry, full, if the key is not remembered.
// Keys are evicted only to keep the count at maxKeys: the least recently
// used of the shard's keys goes, or, when it has none, one of another
// shard's.
func (k *Keyed) lookup(key string, now int64) (*keyEntry, *keyShard) {
	i := k.shard(key)
	s := &k.shards[i]
	s.mu.Lock()
	k.expireLocked(s, now)
	if e := s.keys[key]; e != nil {
		k.touchLocked(s, e, now)
		return e, s
	}
	if k.keys.Add(1) > k.maxKeys {
		if s.tail != nil {
			k.removeLocked(s, s.tail)
		} else {
			// Never two locks at once: s is released while another
			// shard makes room.
			s.mu.Unlock()
			k.evictAfter(i)
			s.mu.Lock()
			if e := s.keys[key]; e != nil { // added meanwhile
				k.keys.Add(-1)
				k.touchLocked(s, e, now)
				return e, s
			}
		}
	}
	if s.keys == nil {
		s.keys = make(map[string]*keyEntry)
	}
	e := &keyEntry{key: key, state: k.rule.full(now), last: now, k: k}
	s.keys[key] = e
	s.pushFrontLocked(e)
	return e, s
}

// evictAfter forgets the least recently used key of the first shard after
// shard i that has one.
func (k *Keyed) evictAfter(i int) {
	for j := 1; j < len(k.shards); j++ {
		o := &k.shards[(i+j)%len(k.shards)]
		o.mu.Lock()
		if o.tail != nil {
			k.removeLocked(o, o.tail)
			o.mu.Unlock()
			return
		}
		o.mu.Unlock()
	}
}

// expireLocked forgets up to expireScan keys of s idle longer than the
// idle expiry whose buckets are full again: forgetting those changes
// nothing a later call sees. It requires s.mu held.
func (k *Keyed) expireLocked(s *keyShard, now int64) {
	for range expireScan {
		e := s.tail
		if e == nil || now-e.last <= k.idle || !k.rule.isFull(e.state, now) {
			return
		}
		k.removeLocked(s, e)
	}
}

// removeLocked forgets e. It requires s.mu held.
func (k *Keyed) removeLocked(s *keyShard, e *keyEntry) {
	s.unlinkLocked(e)
	delete(s.keys, e.key)
	k.keys.Add(-1)
}

// touchLocked marks e used at now. It requires s.mu held.
func (k *Keyed) touchLocked(s *keyShard, e *keyEntry, now int64) {
	e.last = max(e.last, now)
	if s.head != e {
		s.unlinkLocked(e)
		s.pushFrontLocked(e)
	}
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

func (k *Keyed) rejections(outcome.Outcome) int64 { return k.rejected.Load() }

// Status returns the limiter's kind ("ratelimit"), name and the calls it
// rejected since it was built, all keys together; its tokens are per key
// (Tokens). It takes no lock.
func (k *Keyed) Status() bulwark.Status {
	return bulwark.Status{Kind: kind, Name: k.name, Rejected: k.rejected.Load()}
}

// KeySnapshot is what a Keyed limiter knows at one moment.
type KeySnapshot struct {
	Limit    rate.Limit
	Burst    int
	Keys     int   // remembered now
	Rejected int64 // rejected calls since creation, all keys together
}

// Snapshot returns the limiter's settings, its key count and its counts;
// the zero KeySnapshot for the zero Keyed.
func (k *Keyed) Snapshot() KeySnapshot {
	if k.shards == nil {
		return KeySnapshot{}
	}
	return KeySnapshot{Limit: k.rule.limit, Burst: k.rule.burst, Keys: k.Len(), Rejected: k.rejected.Load()}
}

// Tokens returns the tokens in key's bucket, and false if the key is not
// remembered. It does not mark the key used.
func (k *Keyed) Tokens(key string) (float64, bool) {
	if k.shards == nil {
		return 0, false
	}
	s := &k.shards[k.shard(key)]
	s.mu.Lock()
	e := s.keys[key]
	var state int64
	if e != nil {
		state = e.state
	}
	s.mu.Unlock()
	if e == nil {
		return 0, false
	}
	return k.rule.tokens(state, max(int64(time.Since(k.epoch)), 0)), true
}
