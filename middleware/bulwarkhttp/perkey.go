package bulwarkhttp

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/bulwark-go/bulwark"
)

// PerKey runs each call through a policy of its own for the call's key
// (KeyFromContext: the key WithKey computed on the server, the host on the
// client), built by a factory on the key's first call: a breaker per route,
// a bulkhead per tenant. Memory is bounded: at most maxKeys policies are
// kept, and making room for a new key drops the least recently used of a
// sample of 16 keys, as Redis evicts; a dropped policy is garbage once its
// calls end, and a key that comes back gets a fresh one.
//
// A call for a known key takes a read lock and a map lookup and allocates
// nothing; the factory runs outside any lock, so a slow factory holds up
// only the calls of its new key. Placed anywhere but innermost in a
// bulwark pipeline, PerKey costs the pipeline's 24-byte adapter per call,
// as any policy that is only a bulwark.Policy does.
//
// A PerKey is safe for concurrent use. Its zero value has no factory: its
// Execute runs nothing and returns an error saying so. Build one with
// NewPerKey.
type PerKey struct {
	newPolicy func(key string) bulwark.Policy
	max       int

	mu   sync.RWMutex
	keys map[string]*keyedPolicy
	tick atomic.Uint64 // moves on at every new key: the clock of use
}

type keyedPolicy struct {
	p    bulwark.Policy
	used atomic.Uint64 // the tick of its last use
}

var _ bulwark.Policy = (*PerKey)(nil)

// evictSample is how many keys are looked at to choose the one to drop.
const evictSample = 16

var errZeroPerKey = errors.New("bulwark/bulwarkhttp: a zero PerKey has no factory; build it with NewPerKey")

// NewPerKey returns a PerKey that keeps at most maxKeys policies built by
// newPolicy. It panics if maxKeys < 1 or newPolicy is nil.
func NewPerKey(maxKeys int, newPolicy func(key string) bulwark.Policy) *PerKey {
	if maxKeys < 1 {
		panicf("NewPerKey", "maxKeys must be >= 1, got %d", maxKeys)
	}
	if newPolicy == nil {
		panicf("NewPerKey", "factory must not be nil")
	}
	return &PerKey{newPolicy: newPolicy, max: maxKeys, keys: make(map[string]*keyedPolicy)}
}

// Execute runs fn through the policy of the key in ctx. It returns an error
// marked bulwark.Permanent, without running fn, if the factory returned a
// nil policy.
func (k *PerKey) Execute(ctx context.Context, fn func(context.Context) error) error {
	if ctx == nil {
		return bulwark.ErrNilContext
	}
	if fn == nil {
		return bulwark.ErrNilFunc
	}
	p, err := k.policy(KeyFromContext(ctx))
	if err != nil {
		return err
	}
	return p.Execute(ctx, fn)
}

// Len returns the number of keys whose policy is kept.
func (k *PerKey) Len() int {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return len(k.keys)
}

// policy returns key's policy, built if the key is new.
func (k *PerKey) policy(key string) (bulwark.Policy, error) {
	if k.newPolicy == nil {
		return nil, errZeroPerKey
	}
	k.mu.RLock()
	e := k.keys[key]
	k.mu.RUnlock()
	if e != nil {
		if t := k.tick.Load(); e.used.Load() != t {
			e.used.Store(t)
		}
		return e.p, nil
	}
	p := k.newPolicy(key)
	if isNil(p) {
		// Permanent: no retry can mend the factory.
		return nil, bulwark.Permanent(fmt.Errorf("bulwark/bulwarkhttp: the policy factory returned nil for key %q", key))
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if e := k.keys[key]; e != nil {
		return e.p, nil // another call built it first: one policy per key
	}
	if len(k.keys) >= k.max {
		k.evictLocked()
	}
	e = &keyedPolicy{p: p}
	e.used.Store(k.tick.Add(1))
	k.keys[key] = e
	return p, nil
}

// evictLocked drops the least recently used of a sample of keys. Requires
// k.mu held.
func (k *PerKey) evictLocked() {
	var oldest string
	var oldestUsed uint64
	n := 0
	// Map iteration starts at a random place: the first keys are a sample.
	for key, e := range k.keys {
		if u := e.used.Load(); n == 0 || u < oldestUsed {
			oldest, oldestUsed = key, u
		}
		if n++; n == evictSample {
			break
		}
	}
	delete(k.keys, oldest)
}
