package bulkhead

import (
	"sync/atomic"

	"github.com/bulwark-go/bulwark/internal/counter"
)

// permitCache keeps free permits of a fixed Bulkhead per processor, so
// that calls on different cores take and return permits without writing
// a shared cache line: a single count of permits in flight, written twice
// by every call, made two cores no faster than one. A processor's cache
// takes permits from the gate's pool in batches and keeps at most a batch;
// the caches together hold at most a quarter of the limit. When the pool
// runs dry, a call collects every cache back into it, under the gate's
// lock, before it queues or is rejected, so that no call is turned away
// while a permit sits in a cache; so does a release that finds callers
// queued. The gate's inflight then counts the permits out of the pool,
// running or cached.
//
// An Adaptive has no cache: its limit moves, and every cache would have to
// follow it.
type permitCache struct {
	mask  int
	batch int64
	l     []cacheLine
}

// cacheLine is one processor's free permits, on a line pair of its own.
type cacheLine struct {
	free atomic.Int64
	_    [lineBytes - 8]byte
}

// maxBatch bounds the permits a processor keeps: beyond a few dozen, a
// larger batch saves nothing measurable on the pool's line.
const maxBatch = 64

// newPermitCache returns the cache of a gate of limit permits, or nil if
// the limit is too small to share out in batches of two or more, or if one
// processor runs everything: then the cache would cost a call the lookup
// of its processor and save nothing.
func newPermitCache(limit int) *permitCache {
	n := counter.Stripes()
	batch := min(int64(limit)/int64(4*n), maxBatch)
	if n < 2 || batch < 2 {
		return nil
	}
	return &permitCache{mask: n - 1, batch: batch, l: make([]cacheLine, n)}
}

// acquire takes a permit for a call, if nobody queues: from the cache of
// the processor it runs on, refilled from the pool when empty, else from
// the pool. It returns the cache line the permit goes back to (-1: the
// pool).
func (g *gate) acquire() (int, bool) {
	c := g.cache
	if c == nil {
		return -1, g.tryAcquire()
	}
	if g.queued.Load() != 0 {
		return -1, false
	}
	i := counter.Proc() & c.mask
	free := &c.l[i].free
	for v := free.Load(); v > 0; v = free.Load() {
		if free.CompareAndSwap(v, v-1) {
			return i, true
		}
	}
	return i, g.refill(free, c.batch)
}

// refill takes up to batch permits from the pool, without overshooting
// it: one for the caller, the others for the cache free, which keeps at
// most batch (another goroutine on the processor may have refilled it
// meanwhile: what does not fit goes back). It reports whether it took any.
func (g *gate) refill(free *atomic.Int64, batch int64) bool {
	for {
		n := g.inflight.Load()
		k := min(batch, g.limit.Load()-n)
		if k <= 0 {
			return false
		}
		if !g.inflight.CompareAndSwap(n, n+k) {
			continue
		}
		rest := k - 1
		for v := free.Load(); rest > 0 && v < batch; v = free.Load() {
			if m := min(rest, batch-v); free.CompareAndSwap(v, v+m) {
				rest -= m
			}
		}
		if rest > 0 {
			g.releaseN(rest)
		}
		return true
	}
}

// releaseAt returns a permit that acquire took for cache line i (-1: the
// pool) to that cache unless it is full, and grants waiters, if any come
// meanwhile, what the caches hold.
func (g *gate) releaseAt(i int) {
	c := g.cache
	if i < 0 || c == nil {
		g.release()
		return
	}
	free := &c.l[i].free
	for v := free.Load(); v < c.batch; v = free.Load() {
		if free.CompareAndSwap(v, v+1) {
			// Read after the permit is back, as acquireSlow counts
			// itself queued before it collects the caches: one of the
			// two sees the other.
			if g.queued.Load() != 0 {
				g.grant()
			}
			return
		}
	}
	g.release()
}

// collectLocked returns every cached permit to the pool. It requires g.mu
// held.
func (g *gate) collectLocked() {
	c := g.cache
	if c == nil {
		return
	}
	var n int64
	for i := range c.l {
		n += c.l[i].free.Swap(0)
	}
	if n != 0 {
		g.inflight.Add(-n)
	}
}

// running returns the calls in flight: the permits out of the pool but
// those in the caches. Read while permits move, it may be off by the
// moving ones, within [0, limit] (the limit of a Bulkhead with a cache
// never moves; an Adaptive's calls admitted before its limit fell may run
// beyond it).
func (g *gate) running() int64 {
	n := g.inflight.Load()
	c := g.cache
	if c == nil {
		return n
	}
	for i := range c.l {
		n -= c.l[i].free.Load()
	}
	return min(max(n, 0), g.limit.Load())
}
