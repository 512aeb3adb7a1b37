package counter

import (
	"runtime"
	"sync"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every add reads the header (the stripes and their mask), so no add may
// write the header's line: the adds of every processor would miss the
// cache. Processors with no stripe of their own, at more than 64 or once
// GOMAXPROCS has grown past the stripes, leave it alone too. The first of
// their adds may set up where they add; the header does not change after.
func TestAddsLeaveTheHeaderAlone(t *testing.T) {
	for _, tc := range []struct {
		name        string
		first, then int // GOMAXPROCS at the first add, and at the adds after
	}{
		{"more processors than stripes", 2 * maxStripes, 2 * maxStripes},
		{"GOMAXPROCS raised after the first add", 2, 2 * maxStripes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(tc.first))
			var c Striped
			c.Add(1)
			runtime.GOMAXPROCS(tc.then)
			header := func() [lineBytes]byte { return *(*[lineBytes]byte)(unsafe.Pointer(c.p.Load())) }
			total := int64(1)
			total += addBeyondTheStripes(t, &c)
			before := header()
			total += addBeyondTheStripes(t, &c)
			after := header()
			for i := range before {
				if before[i] != after[i] {
					assert.Fail(t, "adds of processors beyond the stripes wrote the header", "byte %d: %#x, then %#x", i, before[i], after[i])
					break
				}
			}
			assert.Equal(t, total, c.Load())
		})
	}
}

// The header is one line pair, whatever it holds.
func TestHeaderIsALinePair(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("the header is padded for 64-bit words")
	}
	assert.Equal(t, uintptr(lineBytes), unsafe.Sizeof(lines{}))
}

// addBeyondTheStripes adds to c from many goroutines until some ran on a
// processor beyond c's stripes, and returns the sum added.
func addBeyondTheStripes(t *testing.T, c *Striped) int64 {
	t.Helper()
	mask := c.p.Load().mask
	var sum int64
	for range 50 {
		const goroutines, adds = 256, 200
		var mu sync.Mutex
		beyond := false
		var wg sync.WaitGroup
		for range goroutines {
			wg.Go(func() {
				saw := false
				for i := range adds {
					saw = saw || Proc() > mask
					c.Add(1)
					if i%20 == 0 {
						runtime.Gosched()
					}
				}
				mu.Lock()
				beyond = beyond || saw
				mu.Unlock()
			})
		}
		wg.Wait()
		sum += goroutines * adds
		if beyond {
			return sum
		}
	}
	require.FailNow(t, "no add ran on a processor beyond the stripes")
	return 0
}
