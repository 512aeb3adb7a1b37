package bulkhead_test

import (
	"context"
	"runtime"
	"testing"
	"weak"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// kinds builds one policy of each type, used once on its success path and
// once on its rejection path, so that everything a policy allocates lazily
// is allocated.
var kinds = []struct {
	name  string
	build func(opts ...bulkhead.Option) bulwark.Policy
	// Bytes per instance at GOMAXPROCS 2, without and with an SDK: the
	// SDK's record of the gauges' registration is about 1.7 KiB of it
	// (bulwark.calls is one callback for all the policies of a meter).
	global, sdk int64
}{
	{"Bulkhead", func(opts ...bulkhead.Option) bulwark.Policy { return used(bulkhead.New(1, opts...)) }, 2048, 4096},
	// A limit that the processors' caches of free permits share: they add
	// a line pair a processor (its rejection counter is not made, as
	// used rejects nothing).
	{"Bulkhead(64)", func(opts ...bulkhead.Option) bulwark.Policy { return used(bulkhead.New(64, opts...)) }, 2048, 4096},
	{"Adaptive", func(opts ...bulkhead.Option) bulwark.Policy {
		aopts := []bulkhead.AdaptiveOption{bulkhead.WithInitialLimit(1)}
		for _, o := range opts {
			aopts = append(aopts, o)
		}
		return used(bulkhead.NewAdaptive(bulkhead.Vegas(), aopts...))
	}, 2560, 4096},
}

// used runs a success and a rejection through p.
func used[P bulwark.Policy](p P) P {
	ctx := context.Background()
	_ = p.Execute(ctx, nop)
	_ = p.Execute(ctx, func(context.Context) error {
		_ = p.Execute(ctx, nop) // rejected: the only permit is held
		return errDep
	})
	return p
}

type provider struct {
	name string
	opts []bulkhead.Option
	sdk  bool
}

func providers() []provider {
	return []provider{
		{"global provider", nil, false},
		{"SDK provider", []bulkhead.Option{bulkhead.WithMeterProvider(otest.NewMeter())}, true},
	}
}

// A dropped policy is garbage-collected: its gauges' callbacks hold it
// weakly and are unregistered when it goes, and nothing else (a timer, a
// goroutine, a global) keeps it.
func TestDroppedPoliciesAreCollected(t *testing.T) {
	for _, pv := range providers() {
		for _, k := range kinds {
			t.Run(pv.name+"/"+k.name, func(t *testing.T) {
				wp := buildAndDrop(k.build, pv.opts)
				for i := 0; i < 20 && wp.alive(); i++ {
					runtime.GC()
				}
				assert.False(t, wp.alive(), "the dropped %s is still reachable", k.name)
			})
		}
	}
}

type weakPolicy struct{ alive func() bool }

func buildAndDrop(build func(...bulkhead.Option) bulwark.Policy, opts []bulkhead.Option) weakPolicy {
	switch p := build(opts...).(type) {
	case *bulkhead.Bulkhead:
		w := weak.Make(p)
		return weakPolicy{func() bool { return w.Value() != nil }}
	case *bulkhead.Adaptive:
		w := weak.Make(p)
		return weakPolicy{func() bool { return w.Value() != nil }}
	}
	panic("unknown policy")
}

// The gauges of a collected policy are unregistered: after the policy
// goes, an SDK collection no longer reports its series.
func TestGaugesOfACollectedPolicyGoAway(t *testing.T) {
	m := otest.NewMeter()
	func() {
		a := bulkhead.NewAdaptive(bulkhead.Vegas(), bulkhead.WithMeterProvider(m), bulkhead.WithName("gone"))
		for _, name := range []string{bulkhead.MetricInFlight, bulkhead.MetricQueued, bulkhead.MetricLimit} {
			_, ok := m.Metric(t, name)
			require.True(t, ok, name)
		}
		runtime.KeepAlive(a)
	}()
	var ok bool
	for i := 0; i < 100; i++ {
		runtime.GC()
		if _, ok = m.Metric(t, bulkhead.MetricLimit); !ok {
			break
		}
		runtime.Gosched()
	}
	assert.False(t, ok, "the collected limiter's bulwark.limit series is still reported")
}

// Policies are built by the thousand (one per host, per tenant): the bytes
// each one holds, measured over many, stay under a bound.
func TestBytesPerInstance(t *testing.T) {
	const n = 2000
	for _, pv := range providers() {
		for _, k := range kinds {
			t.Run(pv.name+"/"+k.name, func(t *testing.T) {
				_ = k.build(pv.opts...) // instruments and caches shared by every instance
				keep := make([]bulwark.Policy, n)
				before := heapBytes()
				for i := range keep {
					keep[i] = k.build(pv.opts...)
				}
				per := (heapBytes() - before) / n
				runtime.KeepAlive(keep)
				t.Logf("%s, %s: %d bytes per instance at GOMAXPROCS %d", k.name, pv.name, per, runtime.GOMAXPROCS(0))
				bound := k.global
				if pv.sdk {
					bound = k.sdk
				}
				assert.LessOrEqual(t, per, bound)
			})
		}
	}
}

// heapBytes returns the live heap once it has settled: the cleanups of
// policies dropped earlier (which unregister their callbacks) run on the
// runtime's cleanup goroutine after a collection, and free more.
func heapBytes() int64 {
	var ms runtime.MemStats
	last := int64(-1)
	for range 20 {
		runtime.GC()
		runtime.Gosched()
		runtime.ReadMemStats(&ms)
		now := int64(ms.HeapAlloc)
		if last >= 0 && now-last < 1024 && last-now < 1024 {
			return now
		}
		last = now
	}
	return last
}
