package ratelimit

import (
	"context"
	"sync"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/core"
	"github.com/bulwark-go/bulwark/internal/counter"
)

// SlidingWindow allows about n calls per window, for limits thought of as
// "100 per minute". It counts the calls of the current window (windows are
// aligned on multiples of the window from the limiter's creation) and
// weighs the previous window's count by the share of it that still
// overlaps the sliding window ending now: a call is allowed while
// previous × overlap + current < n.
//
// Accuracy: the weighting assumes the previous window's calls were spread
// evenly. Under steady demand the admitted rate is n per window; over k
// whole windows the count admitted stays within n of k·n. In the worst
// case (the previous window's calls all at its end) a trailing window of
// length window can hold up to 2n calls. A token bucket (New) is exact.
//
// A SlidingWindow is safe for concurrent use. Its zero value has no limit:
// its Execute runs nothing and returns an error matching ErrZeroValue.
// Build one with NewSlidingWindow.
type SlidingWindow struct {
	n        int
	window   time.Duration
	epoch    time.Time
	reporter core.Reporter
	rejected counter.Striped

	mu         sync.Mutex
	idx        int64 // which window is current
	prev, curr int
}

var _ bulwark.Stage = (*SlidingWindow)(nil)

// NewSlidingWindow returns a limiter of about n calls per window. It
// panics if n < 1 or window <= 0, or if given WithMaxWait, WithMaxKeys or
// WithIdleExpiry.
func NewSlidingWindow(n int, window time.Duration, opts ...Option) *SlidingWindow {
	if n < 1 {
		panicf("NewSlidingWindow", "n must be >= 1, got %d", n)
	}
	if window <= 0 {
		panicf("NewSlidingWindow", "window must be > 0, got %v", window)
	}
	c := newConfig("sliding", opts)
	if c.maxWait != 0 {
		panicf("NewSlidingWindow", "WithMaxWait applies to token buckets only")
	}
	s := &SlidingWindow{n: n, window: window, epoch: time.Now(),
		reporter: c.tel.Reporter("ratelimit")}
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
		err := error(&limitedError{after: wait})
		s.reporter.Report(ctx, next, bulwark.Event{Type: bulwark.EventRejected, Delay: wait, Err: err})
		return err
	}
	return next.Run(ctx)
}

// allow counts a call at now if the window allows it, or returns how long
// until it would.
func (s *SlidingWindow) allow(now time.Time) (bool, time.Duration) {
	since := now.Sub(s.epoch)
	idx := int64(since / s.window)
	elapsed := since - time.Duration(idx)*s.window
	s.mu.Lock()
	defer s.mu.Unlock()
	if idx < s.idx {
		// The reading went stale while the window moved on: count it at
		// the start of the current window, where the previous one weighs
		// most.
		idx, elapsed = s.idx, 0
	}
	switch {
	case idx == s.idx+1:
		s.prev, s.curr = s.curr, 0
	case idx > s.idx+1:
		s.prev, s.curr = 0, 0
	}
	if idx > s.idx {
		s.idx = idx
	}
	if s.estimateLocked(elapsed)+1 <= float64(s.n) {
		s.curr++
		return true, 0
	}
	return false, s.waitLocked(elapsed)
}

// estimateLocked is the weighted count of the sliding window. It requires
// s.mu held.
func (s *SlidingWindow) estimateLocked(elapsed time.Duration) float64 {
	overlap := 1 - float64(elapsed)/float64(s.window)
	return float64(s.prev)*overlap + float64(s.curr)
}

// waitLocked estimates the time until a call would be allowed. It requires
// s.mu held.
func (s *SlidingWindow) waitLocked(elapsed time.Duration) time.Duration {
	w, room := float64(s.window), float64(s.n-1)
	if float64(s.curr) > room {
		// Only the next window helps, once this one's weight has fallen.
		rest := w - float64(elapsed)
		return saturate(rest + max(w*(1-room/float64(s.curr)), 0))
	}
	t := w*(1-(room-float64(s.curr))/float64(s.prev)) - float64(elapsed)
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

// Snapshot returns the limiter's settings, its use and its counts; the
// zero WindowSnapshot for the zero SlidingWindow.
func (s *SlidingWindow) Snapshot() WindowSnapshot {
	if s.n == 0 {
		return WindowSnapshot{}
	}
	since := time.Since(s.epoch)
	idx := int64(since / s.window)
	s.mu.Lock()
	prev, curr := s.prev, s.curr
	switch {
	case idx == s.idx+1:
		prev, curr = curr, 0
	case idx > s.idx+1:
		prev, curr = 0, 0
	}
	s.mu.Unlock()
	overlap := 1 - float64(since-time.Duration(idx)*s.window)/float64(s.window)
	return WindowSnapshot{N: s.n, Window: s.window, Estimate: float64(prev)*overlap + float64(curr),
		Rejected: s.rejected.Load()}
}
