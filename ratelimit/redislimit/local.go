package redislimit

import (
	"math"
	"sync"
	"time"
)

// localBuckets are FailLocal's token buckets, one per key, in the
// instance: the script's arithmetic (the generic cell rate algorithm) on
// the instance's monotonic clock, in ns, deciding n tokens all or none.
// They report nothing: the limiter reports its decisions as its own.
type localBuckets struct {
	tokenTime int64 // one token's refill time, ns
	burst     int
	tolerance int64 // the burst's refill time, ns
	mu        sync.Mutex
	tat       map[string]int64 // per key, when its bucket is full again: ns of the limiter's clock since its epoch
}

const (
	// maxLocalKeys bounds the keys the local buckets remember; past it
	// full buckets are forgotten, then any: a forgotten key's next call
	// finds a full bucket.
	maxLocalKeys = 10000
	// maxLocalTime bounds a token's and a burst's refill time (73 years),
	// so that a full time, at most two of them past now, fits an int64.
	maxLocalTime = 1 << 61
)

// newLocalBuckets returns buckets of limit tokens a second (finite and
// positive) and burst at most.
func newLocalBuckets(limit float64, burst int) *localBuckets {
	t := math.Ceil(1e9 / limit)
	tokenTime := int64(maxLocalTime)
	if t < maxLocalTime {
		tokenTime = max(int64(t), 1)
	}
	tolerance := int64(maxLocalTime)
	if int64(burst) <= maxLocalTime/tokenTime {
		tolerance = tokenTime * int64(burst)
	}
	return &localBuckets{tokenTime: tokenTime, burst: burst, tolerance: tolerance, tat: map[string]int64{}}
}

// take takes n tokens of key's bucket at now (ns since the epoch), or
// none; n = 0 reads the bucket. It returns the decision with the tokens
// left, the time until the bucket is full and, for a refusal, until the
// tokens are there (-1: never, n above the burst).
func (b *localBuckets) take(key string, n int, now int64) Result {
	if n > b.burst {
		return Result{RetryAfter: -1, Degraded: true}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	tat, ok := b.tat[key]
	tat = max(tat, now)
	next := tat + int64(n)*b.tokenTime
	if next-now > b.tolerance {
		return Result{
			Remaining:  int((b.tolerance - (tat - now)) / b.tokenTime),
			RetryAfter: time.Duration(next - b.tolerance - now),
			ResetAfter: time.Duration(tat - now),
			Degraded:   true,
		}
	}
	if n > 0 {
		if !ok {
			b.makeRoomLocked(now)
		}
		b.tat[key] = next
	}
	return Result{
		Allowed:    true,
		Remaining:  int((b.tolerance - (next - now)) / b.tokenTime),
		ResetAfter: time.Duration(next - now),
		Degraded:   true,
	}
}

// makeRoomLocked forgets keys when the buckets remember maxLocalKeys:
// those whose bucket is full, then any, down to 15/16 of the bound, so
// that the scan is paid once per many new keys. It requires b.mu held.
func (b *localBuckets) makeRoomLocked(now int64) {
	if len(b.tat) < maxLocalKeys {
		return
	}
	for k, tat := range b.tat {
		if tat <= now {
			delete(b.tat, k)
		}
	}
	for k := range b.tat {
		if len(b.tat) <= maxLocalKeys-maxLocalKeys/16 {
			break
		}
		delete(b.tat, k)
	}
}
