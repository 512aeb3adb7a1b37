package window

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newWindow(width time.Duration, n int) *Window {
	var w Window
	w.Init(width, n)
	return &w
}

// sum is the window ending with the bucket of a reading at at.
func (w *Window) sumAt(at int64) Counts {
	i, _ := w.Locate(at)
	return w.Sum(i)
}

func TestInitChecksItsArguments(t *testing.T) {
	assert.PanicsWithValue(t, "bulwark/internal/window: Init: need width >= 1ns and n >= 1, got 0s and 10", func() { newWindow(0, 10) })
	assert.PanicsWithValue(t, "bulwark/internal/window: Init: need width >= 1ns and n >= 1, got 1s and 0", func() { newWindow(time.Second, 0) })
	var w Window
	assert.False(t, w.Ready())
	w.Init(time.Second, 1)
	assert.True(t, w.Ready())
}

// Bucket i holds [i·width, (i+1)·width): Locate rounds towards minus
// infinity, before the origin too.
func TestLocateFloorsTheIndex(t *testing.T) {
	w := newWindow(10, 4)
	for _, c := range []struct{ at, i, into int64 }{
		{0, 0, 0}, {9, 0, 9}, {10, 1, 0}, {25, 2, 5},
		{-1, -1, 9}, {-10, -1, 0}, {-11, -2, 9},
		{math.MaxInt64, math.MaxInt64 / 10, 7}, {math.MinInt64, math.MinInt64/10 - 1, 2},
	} {
		i, into := w.Locate(c.at)
		assert.Equal(t, c.i, i, "index of %d", c.at)
		assert.Equal(t, c.into, into, "offset of %d", c.at)
	}
}

// A window of n buckets holds what was counted in its last n buckets and
// forgets a bucket whole when the ring reuses its slot.
func TestWindowCountsItsLastBuckets(t *testing.T) {
	w := newWindow(10, 3)
	for at := int64(0); at < 30; at += 5 { // two counts a bucket, buckets 0 to 2
		w.Add(at)[0]++
	}
	w.Add(29)[1] += 7
	assert.Equal(t, Counts{6, 7, 0}, w.sumAt(29))
	assert.Equal(t, Counts{2, 0, 0}, w.Sum(0), "the window that ends with bucket 0")
	assert.Equal(t, Counts{4, 7, 0}, w.Sum(3), "bucket 0 has left the window ending with bucket 3")
	assert.Equal(t, Counts{}, w.Sum(5))

	w.Add(30)[2]++ // bucket 3 reuses bucket 0's slot
	assert.Nil(t, w.Get(0), "bucket 0 is gone")
	assert.Equal(t, &Counts{0, 0, 1}, w.Get(3))
	assert.Equal(t, Counts{4, 7, 1}, w.sumAt(30))
	assert.Equal(t, &Counts{0, 0, 1}, w.Newest())

	w.Add(1000)[0]++ // far ahead: every older bucket has left the window
	assert.Equal(t, Counts{1, 0, 0}, w.sumAt(1000))
}

func TestGetChangesNothing(t *testing.T) {
	w := newWindow(10, 2)
	w.Add(5)[0] = 3
	assert.Equal(t, &Counts{3, 0, 0}, w.Get(0))
	assert.Nil(t, w.Get(2), "bucket 2 would reuse bucket 0's slot, but was not written")
	assert.Equal(t, &Counts{3, 0, 0}, w.Get(0), "Get cleared nothing")
	assert.Equal(t, &Counts{3, 0, 0}, w.Newest())
}

// A reading older than the newest bucket counts in the newest bucket: it
// is not dropped, and it does not clear the later bucket that now holds its
// slot (the ring's whole span behind), nor move the window back.
func TestStaleReadingCountsInTheNewestBucket(t *testing.T) {
	w := newWindow(10, 4)
	w.Add(100)[0]++ // bucket 10
	for _, stale := range []int64{99, 60, 0, -1000, math.MinInt64} {
		i, into := w.Locate(stale)
		assert.Equal(t, int64(10), i, "reading %d", stale)
		assert.Zero(t, into, "reading %d", stale)
		w.Add(stale)[0]++
	}
	assert.Equal(t, &Counts{6, 0, 0}, w.Get(10), "every stale reading counted, none cleared bucket 10")
	assert.Equal(t, Counts{6, 0, 0}, w.sumAt(60), "the window read by a stale reading ends with the newest bucket")
	assert.Equal(t, &Counts{6, 0, 0}, w.Bucket(2), "a stale index is taken as the newest")
	assert.Nil(t, w.Get(2))
}

// Times before the origin (a policy built outside a testing/synctest
// bubble reads them inside it) count like any others.
func TestNegativeTimes(t *testing.T) {
	w := newWindow(10, 4)
	w.Add(-25)[0]++ // bucket -3
	w.Add(-5)[0]++  // bucket -1
	w.Add(4)[0]++   // bucket 0
	assert.Equal(t, Counts{3, 0, 0}, w.sumAt(4), "buckets -3 to 0")
	assert.Equal(t, &Counts{1, 0, 0}, w.Get(-3))
	assert.Equal(t, Counts{2, 0, 0}, w.Sum(-1), "buckets -4 to -1")
	w.Add(11)[0]++ // bucket 1 reuses bucket -3's slot
	assert.Nil(t, w.Get(-3))
	assert.Equal(t, Counts{3, 0, 0}, w.sumAt(11), "buckets -2 to 1")
}

// The ends of the int64 range: no index, slot or window bound overflows.
func TestExtremeTimesAndWidths(t *testing.T) {
	for _, c := range []struct {
		name  string
		width time.Duration
		n     int
	}{
		{"1ns buckets", 1, 5},
		{"the longest bucket", math.MaxInt64, 2},
		{"one bucket", time.Second, 1},
		{"a thousand buckets", time.Millisecond, 1000},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWindow(c.width, c.n)
			w.Add(math.MinInt64)[0]++
			assert.Equal(t, int64(1), w.sumAt(math.MinInt64)[0])
			w.Add(math.MinInt64 + 1)[0]++
			w.Add(-1)[0]++
			w.Add(0)[0]++
			w.Add(math.MaxInt64 - 1)[0]++
			w.Add(math.MaxInt64)[0]++
			got := w.sumAt(math.MaxInt64)[0]
			assert.GreaterOrEqual(t, got, int64(1))
			assert.LessOrEqual(t, got, int64(6))
			i, into := w.Locate(math.MaxInt64)
			assert.GreaterOrEqual(t, into, int64(0))
			assert.Less(t, into, int64(c.width))
			assert.NotNil(t, w.Get(i))
			assert.NotNil(t, w.Newest())
		})
	}
	// The window ending with the first and the last index of all.
	w := newWindow(1, 3)
	w.Add(math.MinInt64)[0] = 1
	assert.Equal(t, Counts{1, 0, 0}, w.Sum(math.MinInt64))
	assert.Equal(t, Counts{1, 0, 0}, w.Sum(math.MinInt64+2))
	assert.Equal(t, Counts{}, w.Sum(math.MinInt64+3))
	assert.Equal(t, Counts{}, w.Sum(math.MaxInt64), "MaxInt64 − MinInt64 is not within 3 buckets")
	w.Add(math.MaxInt64)[0] = 5
	assert.Equal(t, Counts{5, 0, 0}, w.Sum(math.MaxInt64))
}

func TestResetEmptiesTheWindow(t *testing.T) {
	w := newWindow(10, 3)
	w.Add(500)[0] = 4
	w.Reset()
	assert.Equal(t, Counts{}, w.sumAt(500))
	assert.Nil(t, w.Newest())
	i, _ := w.Locate(20)
	assert.Equal(t, int64(2), i, "after a reset an earlier reading is not stale")
}

func TestNothingAllocates(t *testing.T) {
	w := newWindow(time.Millisecond, 10)
	at := int64(0)
	allocs := testing.AllocsPerRun(1000, func() {
		at += int64(time.Millisecond / 3)
		i, _ := w.Locate(at)
		w.Bucket(i)[0]++
		_ = w.Get(i - 1)
		_ = w.Sum(i)
		w.Newest()[1]++
	})
	require.Zero(t, allocs)
}
