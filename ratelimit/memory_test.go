package ratelimit_test

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/stretchr/testify/assert"
)

// Limiters are built per host and per tenant: each is small, and a dropped
// one is collected, with the global meter provider and with an SDK one.
func TestLimitersAreSmallAndCollected(t *testing.T) {
	m := otest.NewMeter()
	run := func(p interface {
		Execute(context.Context, func(context.Context) error) error
	}) {
		_ = p.Execute(context.Background(), nop)
		_ = p.Execute(context.Background(), nop) // rejected: reports an event
	}

	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	for _, pv := range []struct {
		name string
		mp   ratelimit.WindowOption
	}{{"global provider", nil}, {"SDK provider", ratelimit.WithMeterProvider(m)}} {
		name, mp := pv.name, pv.mp
		// Used once on each path, so that what a limiter allocates lazily
		// (its striped count of rejections) is allocated.
		settle()
		per := otest.HeapPerInstance(2000, func() *ratelimit.Limiter { l := ratelimit.New(1, 1, mp); run(l); return l })
		t.Logf("ratelimit.Limiter, %s: %.0f bytes per instance at GOMAXPROCS 2", name, per)
		if mp == nil {
			assert.Less(t, per, 1536.0)
		} else {
			assert.Less(t, per, 2048.0)
		}
		settle()
		per = otest.HeapPerInstance(2000, func() *ratelimit.SlidingWindow {
			s := ratelimit.NewSlidingWindow(1, time.Second, mp)
			run(s)
			return s
		})
		t.Logf("ratelimit.SlidingWindow, %s: %.0f bytes per instance", name, per)
		assert.Less(t, per, 2048.0)
		settle()
		per = otest.HeapPerInstance(2000, func() *ratelimit.Keyed { k := ratelimit.NewKeyed(1, 1, tenant, mp); run(k); return k })
		t.Logf("ratelimit.Keyed with one key, %s: %.0f bytes per instance", name, per)
		assert.Less(t, per, 4096.0)
	}

	for name, mp := range map[string]ratelimit.WindowOption{
		"global provider": nil, // a nil option is ignored
		"SDK provider":    ratelimit.WithMeterProvider(m),
	} {
		assert.True(t, otest.Collected(func() *ratelimit.Limiter { return ratelimit.New(1, 1, mp) },
			func(l *ratelimit.Limiter) { run(l) }), "Limiter, %s", name)
		assert.True(t, otest.Collected(func() *ratelimit.Limiter {
			return ratelimit.New(1, 1, mp, ratelimit.WithMaxWait(time.Second))
		}, func(l *ratelimit.Limiter) { run(l) }), "waiting Limiter, %s", name)
		assert.True(t, otest.Collected(func() *ratelimit.SlidingWindow { return ratelimit.NewSlidingWindow(1, time.Second, mp) },
			func(s *ratelimit.SlidingWindow) { run(s) }), "SlidingWindow, %s", name)
		assert.True(t, otest.Collected(func() *ratelimit.Keyed { return ratelimit.NewKeyed(1, 1, tenant, mp) },
			func(k *ratelimit.Keyed) { run(k) }), "Keyed, %s", name)
	}
}

// A remembered key costs its entry in the map and the LRU list.
func TestKeysAreSmall(t *testing.T) {
	const n = 50000
	k := ratelimit.NewKeyed(1, 1, tenant, ratelimit.WithMaxKeys(n))
	ctxs := make([]context.Context, n)
	for i := range ctxs {
		ctxs[i] = as("tenant-" + strconv.Itoa(i)) // the key strings are the caller's
	}
	per := otest.HeapPerInstance(1, func() *ratelimit.Keyed {
		for _, ctx := range ctxs {
			_ = k.Execute(ctx, nop)
		}
		return k
	}) / n
	runtime.KeepAlive(ctxs) // the callers' contexts are not the limiter's cost
	t.Logf("ratelimit.Keyed: %.0f bytes per remembered key", per)
	assert.Less(t, per, 160.0)
}

// settle returns once the live heap has stopped shrinking: the cleanups of
// limiters dropped by an earlier measurement, which unregister their
// callbacks, run on the runtime's cleanup goroutine after a collection,
// and would be counted against the next measurement.
func settle() {
	var ms runtime.MemStats
	last := int64(-1)
	for range 50 {
		runtime.GC()
		runtime.Gosched()
		runtime.ReadMemStats(&ms)
		now := int64(ms.HeapAlloc)
		if last >= 0 && now-last < 1024 && last-now < 1024 {
			return
		}
		last = now
	}
}
