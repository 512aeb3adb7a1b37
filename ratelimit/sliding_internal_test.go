package ratelimit

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// A call whose clock reading went stale before it reached the lock (read
// in the previous window, counted after the window moved on) must not be
// weighed as if the previous window were still current: the window that
// is full stays full.
func TestSlidingWindowStaleReadingDoesNotReopenAFullWindow(t *testing.T) {
	s := NewSlidingWindow(10, time.Second)
	lateInFirst := s.epoch.Add(1999 * time.Millisecond)
	for range 10 {
		ok, _ := s.allow(lateInFirst)
		assert.True(t, ok)
	}
	ok, _ := s.allow(s.epoch.Add(2 * time.Second))
	assert.False(t, ok, "the sliding window ending at 2s holds 10 calls")
	for range 10 {
		ok, wait := s.allow(lateInFirst)
		assert.False(t, ok, "a stale reading admitted a call into a full window")
		assert.Positive(t, wait)
	}
}
