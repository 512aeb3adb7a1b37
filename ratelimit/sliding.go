package ratelimit

import (
	"context"
	"sync"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/core"
	"github.com/bulwark-go/bulwark/internal/counter"
	"github.com/bulwark-go/bulwark/internal/observe"
	"github.com/bulwark-go/bulwark/internal/outcome"
	"github.com/bulwark-go/bulwark/internal/window"
)

// SlidingWindow allows about n calls per window, for limits thought of as
// "100 per minute". It counts the calls of the current window (windows are
// aligned on multiples of the window from the limiter's creation) and
// weighs the previous window's count by the share of it that still
// overlaps the sliding window ending now: a call is allowed if it fits,
// previous × overlap + current + 1 <= n.
//
// Accuracy: the weighting assumes the previous window's calls were spread
// evenly. Under steady demand the admitted rate is n per window; over k
// whole windows the count admitted stays within n of k·n. In the worst
// case (the previous window's calls all at its end) a trailing window of
// length window can hold up to 2n calls. A token bucket (New) is exact.
//
// Execute is the method to call, or the SlidingWindow as a stage of a
// bulwark pipeline; Status and Snapshot read it. A SlidingWindow is safe
// for concurrent use.
//
// Its zero value has no limit: its Execute runs nothing and returns an
// error matching ErrZeroValue. Build one with NewSlidingWindow.
type SlidingWindow struct {
	n        int
	window   time.Duration
	epoch    time.Time
	name     string
	reporter core.Reporter
	rejected counter.Striped

	mu sync.Mutex
	// The calls of the current window and the one before, in the window
	// every bulwark policy shares: two buckets as long as the window,
	// aligned on multiples of it from the epoch.
	win window.Window
}

var (
	_ bulwark.Stage       = (*SlidingWindow)(nil)
	_ bulwark.Inspectable = (*SlidingWindow)(nil)
)

// NewSlidingWindow returns a limiter of about n calls per window. It
// panics if n < 1 or window <= 0.
func NewSlidingWindow(n int, window time.Duration, opts ...WindowOption) *SlidingWindow {
	if n < 1 {
		panicf("NewSlidingWindow", "n must be >= 1, got %d", n)
	}
	if window <= 0 {
		panicf("NewSlidingWindow", "window must be > 0, got %v", window)
	}
	c := newConfig(opts, WindowOption.applyWindow)
	s := &SlidingWindow{n: n, window: window, epoch: time.Now(),
		name: c.tel.Name, reporter: c.tel.Reporter(kind)}
	s.win.Init(window, 2)
	observe.Calls(s.reporter, s, (*SlidingWindow).rejections, outcome.Rejected)
	return s
}

// Execute runs fn if the window allows it; otherwise it returns an error
// matching ErrLimited without running fn.
func (s *SlidingWindow) Execute(ctx context.Context, fn func(context.Context) error) error {
	return bulwark.RunStage(ctx, s, fn)
}

// ExecuteStage implements bulwark.Stage.
func (s *SlidingWindow) ExecuteStage(ctx context.Context, next bulwark.Next) error {
	if s.n == 0 {
		return errZeroWindow
	}
	ok, wait := s.allow(time.Now())
	if !ok {
		s.rejected.Add(1)
		err := error(limitedError[*SlidingWindow]{s})
		if s.reporter.Listening(ctx, next) {
			s.reporter.Report(ctx, next, bulwark.Event{Type: bulwark.EventRejected, Delay: wait, Err: err})
		}
		return err
	}
	return next.Run(ctx)
}

// allow counts a call at now if the window allows it, or returns how long
// until it would.
func (s *SlidingWindow) allow(now time.Time) (bool, time.Duration) {
	at := int64(now.Sub(s.epoch))
	s.mu.Lock()
	defer s.mu.Unlock()
	// A reading that went stale while the window moved on counts at the
	// start of the current window, where the previous one weighs most.
	i, into := s.win.Locate(at)
	curr := s.win.Bucket(i)
	prev := s.win.Get(i - 1)
	elapsed := time.Duration(into)
	if estimate(prev, curr, elapsed, s.window)+1 <= float64(s.n) {
		curr[0]++
		return true, 0
	}
	return false, s.wait(prev, curr, elapsed)
}

// retryAfter is the hint of the limiter's rejections: the wait of a call
// that came now, or 0 if it would be allowed.
func (s *SlidingWindow) retryAfter() time.Duration {
	at := int64(time.Since(s.epoch))
	s.mu.Lock()
	defer s.mu.Unlock()
	i, into := s.win.Locate(at)
	prev, curr := s.win.Get(i-1), s.win.Get(i)
	elapsed := time.Duration(into)
	if estimate(prev, curr, elapsed, s.window)+1 <= float64(s.n) {
		return 0
	}
	return s.wait(prev, curr, elapsed)
}

// count is the calls of a bucket, 0 for one the window does not hold.
func count(c *window.Counts) int64 {
	if c == nil {
		return 0
	}
	return c[0]
}

// estimate is the weighted count of the sliding window that ends elapsed
// into the current window: the previous window's calls weighed by the
// share of it that the sliding window still overlaps, and the current
// window's.
func estimate(prev, curr *window.Counts, elapsed, w time.Duration) float64 {
	overlap := 1 - float64(elapsed)/float64(w)
	return float64(count(prev))*overlap + float64(count(curr))
}

// wait estimates the time until a call would be allowed, elapsed into the
// current window.
func (s *SlidingWindow) wait(prev, curr *window.Counts, elapsed time.Duration) time.Duration {
	w, room := float64(s.window), float64(s.n-1)
	c := float64(count(curr))
	if c > room {
		// Only the next window helps, once this one's weight has fallen.
		rest := w - float64(elapsed)
		return saturate(rest + max(w*(1-room/c), 0))
	}
	t := w*(1-(room-c)/float64(count(prev))) - float64(elapsed)
	return saturate(min(max(t, 0), w-float64(elapsed)))
}

// saturate converts ns to a Duration, holding waits too long for one at
// the longest Duration instead of overflowing.
func saturate(ns float64) time.Duration {
	if ns >= float64(maxDuration) {
		return maxDuration
	}
	return time.Duration(ns)
}

// WindowSnapshot is what a SlidingWindow knows at one moment.
type WindowSnapshot struct {
	N        int
	Window   time.Duration
	Estimate float64 // weighted calls in the sliding window ending now
	Rejected int64   // rejected calls since creation
}

func (s *SlidingWindow) rejections(outcome.Outcome) int64 { return s.rejected.Load() }

// Status returns the limiter's kind ("ratelimit"), name, the room left in
// the sliding window ending now as Tokens (n less the weighted count, so
// that about that many calls would be allowed now), and the calls it
// rejected since it was built.
func (s *SlidingWindow) Status() bulwark.Status {
	sn := s.Snapshot()
	return bulwark.Status{Kind: kind, Name: s.name, Tokens: max(float64(sn.N)-sn.Estimate, 0), Rejected: sn.Rejected}
}

// Snapshot returns the limiter's settings, its use and its counts; the
// zero WindowSnapshot for the zero SlidingWindow.
func (s *SlidingWindow) Snapshot() WindowSnapshot {
	if s.n == 0 {
		return WindowSnapshot{}
	}
	at := int64(time.Since(s.epoch))
	s.mu.Lock()
	i, into := s.win.Locate(at)
	e := estimate(s.win.Get(i-1), s.win.Get(i), time.Duration(into), s.window)
	s.mu.Unlock()
	return WindowSnapshot{N: s.n, Window: s.window, Estimate: e, Rejected: s.rejected.Load()}
}
