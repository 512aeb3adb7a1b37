package bulkhead

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/core"
	"github.com/bulwark-go/bulwark/internal/outcome"
)

// ErrThrottled is matched, with errors.Is, by the local rejections of a
// Throttler, and matches bulwark.ErrRejected.
var ErrThrottled error = throttled{}

type throttled struct{}

func (throttled) Error() string   { return "bulwark/bulkhead: throttled locally" }
func (throttled) Is(t error) bool { return t == bulwark.ErrRejected }

// Throttler is the client-side throttling of Google's SRE book ("Handling
// Overload"): it rejects calls locally, before they reach a dependency that
// is refusing work, with probability
//
//	max(0, (requests − K·accepts) / (requests + 1))
//
// over a sliding window, capped by WithMaxRejection. With K = 2, the
// dependency receives about twice what it accepts. Every call counts as a
// request when it starts (locally rejected ones included) and is then
// classified by the outcome table of the bulwark package doc: a success is
// an accept, a failure (an overload, an error, a timeout) is a request not
// accepted, and an ignored call (the caller's cancellation, a local
// rejection from a policy inside, WithIgnoreIf, a panic) is taken out of
// the requests again. A Throttler is safe for concurrent use.
//
// The zero value is ready to use and works as NewThrottler() does: K 2, a
// 2-minute window, a 0.9 cap, no name.
type Throttler struct {
	k        float64 // 0 in the zero value: the defaults apply
	maxDrop  float64
	width    int64 // nanoseconds a bucket spans
	rules    outcome.Rules
	reporter core.Reporter

	mu      sync.Mutex
	buckets [throttleBuckets]throttleBucket
	newest  int64 // the index of the newest bucket written
}

type throttleBucket struct {
	index             int64
	requests, accepts int64
}

const (
	throttleBuckets        = 10
	defaultThrottleK       = 2
	defaultThrottleWindow  = 2 * time.Minute
	defaultThrottleMaxDrop = 0.9
)

// WithK is the SRE formula's K: how many requests per accepted one the
// dependency may receive before local rejection starts. Default: 2. It
// panics if k < 1.
func WithK(k float64) Option {
	if math.IsNaN(k) || math.IsInf(k, 0) || k < 1 {
		panicf("WithK", "k must be >= 1, got %v", k)
	}
	return optionFunc(func(c *config) { c.k = k })
}

// WithWindow is the span of history the throttler counts, in 10 buckets.
// Default: 2 minutes, as the SRE book suggests. It panics if d < 10ns.
func WithWindow(d time.Duration) Option {
	if d < throttleBuckets {
		panicf("WithWindow", "window must be >= 10ns, got %v", d)
	}
	return optionFunc(func(c *config) { c.window = d })
}

// WithMaxRejection caps the probability of local rejection, so that some
// calls still probe the dependency. Default: 0.9. It panics unless
// 0 < p < 1.
func WithMaxRejection(p float64) Option {
	if math.IsNaN(p) || p <= 0 || p >= 1 {
		panicf("WithMaxRejection", "p must be in (0, 1), got %v", p)
	}
	return optionFunc(func(c *config) { c.maxDrop = p })
}

// NewThrottler returns a Throttler. It panics on options of the other
// kinds.
func NewThrottler(opts ...Option) *Throttler {
	c := applyOptions(opts)
	if c.queueSet || c.minLimit != 0 || c.initial != 0 || c.sampleWindow != 0 {
		panicf("NewThrottler", "queue and limit options apply to bulkheads only")
	}
	if c.k == 0 {
		c.k = defaultThrottleK
	}
	if c.window == 0 {
		c.window = defaultThrottleWindow
	}
	if c.maxDrop == 0 {
		c.maxDrop = defaultThrottleMaxDrop
	}
	return &Throttler{
		k: c.k, maxDrop: c.maxDrop, width: int64(c.window / throttleBuckets), rules: c.rules,
		reporter: c.tel.Reporter("throttler"),
	}
}

// zeroThrottlerReporter reports for every zero Throttler: unnamed, through
// the global provider, as NewThrottler() would.
var zeroThrottlerReporter = sync.OnceValue(func() core.Reporter {
	return core.NewReporter("throttler", "", nil)
})

// params returns the throttler's settings, the defaults for the zero value.
func (t *Throttler) params() (k, maxDrop float64, width int64) {
	if t.k == 0 {
		return defaultThrottleK, defaultThrottleMaxDrop, int64(defaultThrottleWindow / throttleBuckets)
	}
	return t.k, t.maxDrop, t.width
}

// Execute rejects the call locally with the current probability, with an
// error matching ErrThrottled; otherwise it runs fn and counts its outcome.
// A panic in fn goes on unchanged, and is not counted.
func (t *Throttler) Execute(ctx context.Context, fn func(context.Context) error) error {
	return bulwark.RunStage(ctx, t, fn)
}

// ExecuteStage implements bulwark.Stage.
func (t *Throttler) ExecuteStage(ctx context.Context, next bulwark.Next) error {
	k, maxDrop, width := t.params()
	i := time.Now().UnixNano() / width
	p := t.request(i, k, maxDrop)
	if p > 0 && rand.Float64() < p {
		if r := t.reporterOrZero(); r.Listening(ctx, next) {
			r.Report(ctx, next, bulwark.Event{Type: bulwark.EventRejected, Err: ErrThrottled})
		}
		return ErrThrottled
	}
	returned := false
	defer func() {
		if !returned { // a panic says nothing of the dependency's load
			t.forget(i)
		}
	}()
	err := next.Run(ctx)
	returned = true
	if err == nil {
		t.accept()
		return nil
	}
	switch t.rules.Classify(ctx, err) {
	case outcome.Success:
		t.accept()
	case outcome.Ignored:
		t.forget(i)
	}
	return err
}

func (t *Throttler) reporterOrZero() core.Reporter {
	if t.reporter != nil {
		return t.reporter
	}
	return zeroThrottlerReporter()
}

// request counts a request in bucket i and returns the rejection
// probability from the window before it.
func (t *Throttler) request(i int64, k, maxDrop float64) float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	requests, accepts := t.sumLocked(i)
	if b := t.bucketLocked(i); b != nil {
		b.requests++
	}
	return probability(requests, accepts, k, maxDrop)
}

// sumLocked returns the counts of the window that ends with bucket i. It
// requires t.mu held.
func (t *Throttler) sumLocked(i int64) (requests, accepts int64) {
	for _, b := range t.buckets {
		if b.index > i-throttleBuckets && b.index <= i {
			requests += b.requests
			accepts += b.accepts
		}
	}
	return requests, accepts
}

// probability is the SRE formula, capped.
func probability(requests, accepts int64, k, maxDrop float64) float64 {
	p := (float64(requests) - k*float64(accepts)) / float64(requests+1)
	return math.Max(0, math.Min(p, maxDrop))
}

// accept counts an accept in the newest bucket, the one the latest request
// went to: never in the bucket of the call's start, whose slot of the ring
// a call longer than the window finds holding the current bucket (writing
// there reset it, and erased the requests it held). This needs no clock
// read: the newest bucket is no later than now, and holds no older slice
// of time than the call's start.
func (t *Throttler) accept() {
	t.mu.Lock()
	t.buckets[slot(t.newest)].accepts++
	t.mu.Unlock()
}

// forget takes back the request counted in bucket i, unless that bucket
// has since been reused for a newer slice of time (the request then left
// the window with it).
func (t *Throttler) forget(i int64) {
	t.mu.Lock()
	if b := &t.buckets[slot(i)]; b.index == i && b.requests > 0 {
		b.requests--
	}
	t.mu.Unlock()
}

// slot returns the place of bucket i in the ring; i is negative for times
// before 1970, which a fake clock may read.
func slot(i int64) int64 {
	if s := i % throttleBuckets; s >= 0 {
		return s
	}
	return i%throttleBuckets + throttleBuckets
}

// bucketLocked returns the bucket of index i, reset if it held an older
// slice of time, or nil if it holds a newer one (a reader whose clock
// read lost a race to a later one). It requires t.mu held.
func (t *Throttler) bucketLocked(i int64) *throttleBucket {
	b := &t.buckets[slot(i)]
	switch {
	case b.index == i:
	case b.index < i:
		*b = throttleBucket{index: i}
	default:
		return nil
	}
	t.newest = max(t.newest, i)
	return b
}

// Probability returns the current probability of local rejection.
func (t *Throttler) Probability() float64 {
	k, maxDrop, width := t.params()
	i := time.Now().UnixNano() / width
	t.mu.Lock()
	defer t.mu.Unlock()
	requests, accepts := t.sumLocked(i)
	return probability(requests, accepts, k, maxDrop)
}
