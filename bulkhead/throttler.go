package bulkhead

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/bulwark-go/bulwark"
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
// over a sliding window, capped by WithMaxRejection. Every call counts as a
// request before it is sent (locally rejected ones included); a call counts
// as accepted unless it fails with an overload signal: an error that
// matches bulwark.ErrRejected or carries a bulwark.RetryAfter hint (a 429,
// a 503 with Retry-After, gRPC pushback).
// With K = 2, the dependency receives about twice what it accepts.
type Throttler struct {
	k        float64
	maxDrop  float64
	width    time.Duration
	random   func() float64
	reporter *bulwark.Reporter

	mu      sync.Mutex
	buckets []throttleBucket
}

type throttleBucket struct {
	index             int64
	requests, accepts int64
}

const throttleBuckets = 10

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
		c.k = 2
	}
	if c.window == 0 {
		c.window = 2 * time.Minute
	}
	if c.maxDrop == 0 {
		c.maxDrop = 0.9
	}
	t := &Throttler{
		k: c.k, maxDrop: c.maxDrop, width: c.window / throttleBuckets, random: rand.Float64,
		reporter: c.tel.Reporter("throttler"),
		buckets:  make([]throttleBucket, throttleBuckets),
	}
	for i := range t.buckets {
		t.buckets[i].index = -1
	}
	return t
}

// Execute rejects the call locally with the current probability, with an
// error matching ErrThrottled; otherwise it runs fn and counts whether the
// dependency accepted it.
func (t *Throttler) Execute(ctx context.Context, fn func(context.Context) error) error {
	return bulwark.RunStage(ctx, t, fn)
}

// ExecuteStage implements bulwark.Stage.
func (t *Throttler) ExecuteStage(ctx context.Context, next bulwark.Next) error {
	now := time.Now()
	p := t.request(now)
	if p > 0 && t.random() < p {
		if t.reporter.Listening(ctx, next) {
			t.reporter.Report(ctx, next, &bulwark.Event{Type: bulwark.EventRejected, Err: ErrThrottled})
		}
		return ErrThrottled
	}
	err := next.Run(ctx)
	if !bulwark.CallerCanceled(ctx, err) && t.isAccepted(err) {
		t.accept(now)
	}
	return err
}

func (t *Throttler) isAccepted(err error) bool {
	if err == nil {
		return true
	}
	if _, hinted := bulwark.RetryAfter(err); hinted {
		return false
	}
	return !errors.Is(err, bulwark.ErrRejected)
}

// request counts a request at now and returns the rejection probability
// from the window before it.
func (t *Throttler) request(now time.Time) float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := now.UnixNano() / int64(t.width)
	var requests, accepts int64
	for _, b := range t.buckets {
		if b.index > i-throttleBuckets && b.index <= i {
			requests += b.requests
			accepts += b.accepts
		}
	}
	b := t.bucketLocked(i)
	b.requests++
	return t.probability(requests, accepts)
}

// probability is the SRE formula, capped.
func (t *Throttler) probability(requests, accepts int64) float64 {
	p := (float64(requests) - t.k*float64(accepts)) / float64(requests+1)
	return math.Max(0, math.Min(p, t.maxDrop))
}

func (t *Throttler) accept(at time.Time) {
	t.mu.Lock()
	t.bucketLocked(at.UnixNano()/int64(t.width)).accepts++
	t.mu.Unlock()
}

// bucketLocked returns the bucket of index i, reset if it held an older
// slice of time. It requires t.mu held.
func (t *Throttler) bucketLocked(i int64) *throttleBucket {
	b := &t.buckets[i%throttleBuckets]
	if b.index != i {
		*b = throttleBucket{index: i}
	}
	return b
}

// Probability returns the current probability of local rejection.
func (t *Throttler) Probability() float64 {
	i := time.Now().UnixNano() / int64(t.width)
	t.mu.Lock()
	defer t.mu.Unlock()
	var requests, accepts int64
	for _, b := range t.buckets {
		if b.index > i-throttleBuckets && b.index <= i {
			requests += b.requests
			accepts += b.accepts
		}
	}
	return t.probability(requests, accepts)
}
