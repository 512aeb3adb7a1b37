package throttle

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// A call whose clock reading went stale before it was counted (read a
// whole window earlier than a reading counted before it) is still a
// request: it used to be dropped while its accept was counted, so that a
// window could hold more accepts than requests.
func TestStaleReadingIsCountedAsARequest(t *testing.T) {
	th := New(WithWindow(10 * time.Second)) // buckets of 1s
	now := int64(100 * time.Second)
	th.request(now, 2, 0.9)
	i, _ := th.request(now-int64(10*time.Second), 2, 0.9) // a whole ring of buckets earlier
	th.accept()
	th.accept()
	th.mu.Lock()
	s := th.win.Sum(100)
	th.mu.Unlock()
	assert.Equal(t, int64(2), s[slotRequests], "the stale request was dropped")
	assert.LessOrEqual(t, s[slotAccepts], s[slotRequests], "more accepts than requests")
	th.forget(i)
	th.mu.Lock()
	s = th.win.Sum(100)
	th.mu.Unlock()
	assert.Equal(t, int64(1), s[slotRequests], "its withdrawal finds it")
}
