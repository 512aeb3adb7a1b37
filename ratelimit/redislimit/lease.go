package redislimit

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Times in a lease are unix ns of the limiter's clock, read once per
// decision by the caller.

// lease is the tokens an instance took from one bucket in Redis and has
// not spent yet. Spending is one compare-and-swap; a refill is made by one
// call at a time (refill is its lock), so that an instance never holds
// more than one lease of a bucket: that is what bounds the fleet's
// overshoot by instances × lease.
type lease struct {
	tokens  atomic.Int64
	expires atomic.Int64 // unix ns after which the tokens are void
	until   atomic.Int64 // unix ns before which the instance asks Redis for no lease
	refill  chan struct{}
	misses  int // refills in a row that found the bucket short; requires the refill lock
}

func newLease() *lease { return &lease{refill: make(chan struct{}, 1)} }

// take spends n tokens if the lease holds them and has not expired at now.
func (ls *lease) take(n int, now int64) bool {
	for {
		t := ls.tokens.Load()
		if t < int64(n) {
			return false
		}
		if now >= ls.expires.Load() {
			return false
		}
		if ls.tokens.CompareAndSwap(t, t-int64(n)) {
			return true
		}
	}
}

// fill replaces the lease by n fresh tokens, void at expires; what was
// left of the old one is void.
func (ls *lease) fill(n, expires int64) {
	ls.tokens.Store(0)
	ls.expires.Store(expires)
	ls.tokens.Store(n)
}

// refuse records that the instance asks Redis for no lease for wait from
// now: a refill found the bucket short.
func (ls *lease) refuse(wait time.Duration, now int64) {
	if wait > 0 {
		ls.until.Store(now + int64(wait))
	}
}

// refused returns how long the instance still asks Redis for no lease.
func (ls *lease) refused(now int64) time.Duration {
	u := ls.until.Load()
	if u == 0 {
		return 0
	}
	return time.Duration(u - now)
}

// lock takes the refill lock, or returns ctx.Err() if the caller gives up
// first.
func (ls *lease) lock(ctx context.Context) error {
	select {
	case ls.refill <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (ls *lease) unlock() { <-ls.refill }

// maxLeases bounds the keys whose leases an instance remembers; past it,
// expired leases are dropped, then any: dropping a lease gives up its
// unspent tokens, which never admits a call more.
const maxLeases = 10000

// leaseTable holds the instance's leases: one for the shared bucket, and
// a bounded map for the buckets of keys.
type leaseTable struct {
	once  sync.Once
	plain *lease
	mu    sync.Mutex
	keyed map[string]*lease
}

// get returns the lease of the bucket at rkey; shared says it is the
// shared bucket's (no WithKey).
func (t *leaseTable) get(rkey string, shared bool, now int64) *lease {
	t.once.Do(func() { t.plain = newLease() })
	if shared {
		return t.plain
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if ls, ok := t.keyed[rkey]; ok {
		return ls
	}
	if t.keyed == nil {
		t.keyed = make(map[string]*lease)
	}
	if len(t.keyed) >= maxLeases {
		for k, ls := range t.keyed {
			if now >= ls.expires.Load() {
				delete(t.keyed, k)
			}
		}
		for k := range t.keyed {
			if len(t.keyed) < maxLeases {
				break
			}
			delete(t.keyed, k)
		}
	}
	ls := newLease()
	t.keyed[rkey] = ls
	return ls
}
