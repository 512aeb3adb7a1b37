package benchmarks

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/fallback"
	"github.com/bulwark-go/bulwark/hedge"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/throttle"
	"github.com/bulwark-go/bulwark/timeout"
	"github.com/stretchr/testify/assert"
)

// BenchmarkScaleKeyedLimiter: a call through a keyed limiter holding 1k,
// 100k and 1M live keys, each call on the next key in turn (the worst case
// for the processor's caches: no key is hot), against one key. The work per
// call does not grow with the keys (one map lookup and one bucket); the time
// grows with the cache misses of a set larger than the caches. It reports
// the heap each remembered key holds.
func BenchmarkScaleKeyedLimiter(b *testing.B) {
	for _, n := range []int{1, 1_000, 100_000, 1_000_000} {
		b.Run("keys="+strconv.Itoa(n), func(b *testing.B) {
			keys := make([]string, n)
			for i := range keys {
				keys[i] = "tenant-" + strconv.Itoa(i)
			}
			next := 0
			key := func(context.Context) string {
				k := keys[next]
				if next++; next == n {
					next = 0
				}
				return k
			}
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			l := ratelimit.NewKeyed(1e9, 1<<30, key, ratelimit.WithMaxKeys(n))
			ctx := context.Background()
			for range n { // remember every key
				_ = l.Execute(ctx, nop)
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			bench(b, l.Execute, nop, false)
			b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(n), "B/key")
			runtime.KeepAlive(l)
		})
	}
}

// TestBytesPerInstanceByGOMAXPROCS reports the heap one policy holds, built
// and used once on its success and failure paths, at GOMAXPROCS 2 and 16:
// what grows with the processors is the striped counters (128 bytes a
// processor each), nothing else.
func TestBytesPerInstanceByGOMAXPROCS(t *testing.T) {
	if testing.Short() {
		t.Skip("measures heap growth over thousands of instances")
	}
	ctx := context.Background()
	use := func(p bulwark.Policy) bulwark.Policy {
		_ = p.Execute(ctx, nop)
		_ = p.Execute(ctx, failing)
		return p
	}
	kinds := []struct {
		name  string
		build func() bulwark.Policy
	}{
		{"breaker", func() bulwark.Policy { return use(breaker.New()) }},
		{"retry", func() bulwark.Policy { return use(retry.New(retry.WithDelay(0))) }},
		{"hedge", func() bulwark.Policy { return use(hedge.New(hedge.WithDelay(time.Hour))) }},
		{"bulkhead", func() bulwark.Policy { return use(bulkhead.New(8)) }},
		{"adaptive bulkhead", func() bulwark.Policy { return use(bulkhead.NewAdaptive(bulkhead.Vegas())) }},
		{"throttle", func() bulwark.Policy { return use(throttle.New()) }},
		{"ratelimit", func() bulwark.Policy { return use(ratelimit.New(1e9, 1<<30)) }},
		{"timeout", func() bulwark.Policy { return use(timeout.New(time.Hour)) }},
		{"fallback", func() bulwark.Policy { return use(fallback.New(recovered)) }},
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	table := "| policy | GOMAXPROCS 2 | GOMAXPROCS 16 |\n|---|--:|--:|\n"
	for _, k := range kinds {
		row := fmt.Sprintf("| %s", k.name)
		var at [2]float64
		for i, procs := range []int{2, 16} {
			runtime.GOMAXPROCS(procs)
			_ = k.build() // the instruments every instance shares
			testutil.Settle()
			at[i] = otest.HeapPerInstance(2000, func() *bulwark.Policy { p := k.build(); return &p })
			row += fmt.Sprintf(" | %.0f", at[i])
		}
		table += row + " |\n"
		// 14 more processors add at most 14 stripes of 128 bytes to each
		// of a policy's striped counters (breaker: 2, others: 1).
		assert.LessOrEqual(t, at[1]-at[0], 2*14*128.0+256, k.name)
	}
	t.Log("bytes per instance:\n" + table)
}
