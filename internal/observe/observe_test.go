package observe_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
	"weak"

	"github.com/bulwark-go/bulwark/internal/core"
	"github.com/bulwark-go/bulwark/internal/observe"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/internal/outcome"
	"github.com/bulwark-go/bulwark/internal/semconv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/embedded"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type owner struct {
	value int64
	_     [4096]byte
}

func gauge(t *testing.T, r *sdkmetric.ManualReader) (int64, bool) {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, r.Collect(context.Background(), &rm))
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if g, ok := m.Data.(metricdata.Gauge[int64]); ok && len(g.DataPoints) > 0 {
				return g.DataPoints[0].Value, true
			}
		}
	}
	return 0, false
}

// register builds an owner, registers its gauge and returns a weak pointer
// only, so that nothing in the test keeps the owner alive.
func register(t *testing.T, m metric.Meter) weak.Pointer[owner] {
	g, err := m.Int64ObservableGauge("test.gauge")
	require.NoError(t, err)
	o := &owner{value: 7}
	observe.Register(m, o, func(o *owner, obs metric.Observer) { obs.ObserveInt64(g, o.value) }, g)
	return weak.Make(o)
}

func TestRegisterObservesTheLiveOwner(t *testing.T) {
	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	g, err := mp.Meter("t").Int64ObservableGauge("test.gauge")
	require.NoError(t, err)
	o := &owner{value: 42}
	observe.Register(mp.Meter("t"), o, func(o *owner, obs metric.Observer) { obs.ObserveInt64(g, o.value) }, g)
	v, ok := gauge(t, r)
	require.True(t, ok)
	assert.Equal(t, int64(42), v)
	runtime.KeepAlive(o)
}

func TestRegisterLetsADroppedOwnerBeCollectedAndUnregisters(t *testing.T) {
	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	wp := register(t, mp.Meter("t"))
	for i := 0; i < 10 && wp.Value() != nil; i++ {
		runtime.GC()
	}
	assert.Nil(t, wp.Value(), "the registration kept its owner alive")
	// The cleanup runs on the runtime's cleanup goroutine after the
	// collection; collect until the series is gone.
	var ok bool
	for i := 0; i < 100; i++ {
		runtime.GC()
		if _, ok = gauge(t, r); !ok {
			break
		}
		runtime.Gosched()
	}
	assert.False(t, ok, "the callback of a collected owner is still registered")
}

// limited is large enough not to share a tiny-allocator block, which
// would keep it alive with its neighbours.
type limited struct {
	rejected atomic.Int64
	_        [64]byte
}

func TestCallsExportsTheListedOutcomes(t *testing.T) {
	m := otest.NewMeter()
	l := &limited{}
	l.rejected.Store(3)
	observe.Calls(core.NewReporter("limiter", "api", m), l,
		func(l *limited, o outcome.Outcome) int64 { return l.rejected.Load() }, outcome.Rejected)
	got, ok := m.Metric(t, semconv.MetricCalls)
	require.True(t, ok)
	sum, ok := got.Data.(metricdata.Sum[int64])
	require.True(t, ok)
	require.Len(t, sum.DataPoints, 1)
	assert.Equal(t, int64(3), sum.DataPoints[0].Value)
	assert.Equal(t, attribute.NewSet(semconv.AttrPolicy.String("limiter"), semconv.AttrPolicyName.String("api"),
		semconv.AttrOutcome.String("rejected")), sum.DataPoints[0].Attributes)
	runtime.KeepAlive(l)
}

// countingMeter counts the callbacks registered on, and unregistered from,
// a real SDK meter.
type countingMeter struct {
	metric.Meter
	registered, unregistered *atomic.Int32
}

func (m countingMeter) RegisterCallback(f metric.Callback, instruments ...metric.Observable) (metric.Registration, error) {
	m.registered.Add(1)
	reg, err := m.Meter.RegisterCallback(f, instruments...)
	return countingRegistration{reg, m.unregistered}, err
}

type countingRegistration struct {
	metric.Registration
	n *atomic.Int32
}

func (r countingRegistration) Unregister() error { r.n.Add(1); return r.Registration.Unregister() }

// calls builds n limiters named "0", "1" ... on m and returns weak pointers
// to them, so that the test holds none.
func calls(m metric.Meter, n int) []weak.Pointer[limited] {
	var wps []weak.Pointer[limited]
	for i := range n {
		l := &limited{}
		l.rejected.Store(int64(i))
		observe.Calls(core.NewReporter("limiter", string(rune('0'+i)), nopProvider{m: m}), l,
			func(l *limited, o outcome.Outcome) int64 { return l.rejected.Load() }, outcome.Rejected)
		wps = append(wps, weak.Make(l))
	}
	return wps
}

// nopProvider hands out one meter whatever the scope.
type nopProvider struct {
	embedded.MeterProvider
	m metric.Meter
}

func (p nopProvider) Meter(string, ...metric.MeterOption) metric.Meter { return p.m }

func series(t *testing.T, r *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, r.Collect(context.Background(), &rm))
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if s, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == semconv.MetricCalls {
				for _, dp := range s.DataPoints {
					name, _ := dp.Attributes.Value(semconv.AttrPolicyName)
					got[name.AsString()] = dp.Value
				}
			}
		}
	}
	return got
}

// The policies of one meter share one bulwark.calls callback, which
// observes each live policy; dropped policies leave it, and the last one
// to go unregisters it.
func TestCallsShareOneCallbackPerMeter(t *testing.T) {
	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	m := countingMeter{mp.Meter("t"), new(atomic.Int32), new(atomic.Int32)}

	l := &limited{}
	l.rejected.Store(9)
	observe.Calls(core.NewReporter("limiter", "kept", nopProvider{m: m}), l,
		func(l *limited, o outcome.Outcome) int64 { return l.rejected.Load() }, outcome.Rejected)
	wps := calls(m, 5)
	assert.Equal(t, int32(1), m.registered.Load(), "one callback for six policies")
	assert.Equal(t, map[string]int64{"kept": 9, "0": 0, "1": 1, "2": 2, "3": 3, "4": 4}, series(t, r))

	collected := func() bool {
		for _, wp := range wps {
			if wp.Value() != nil {
				return false
			}
		}
		return true
	}
	for i := 0; i < 10 && !collected(); i++ {
		runtime.GC()
	}
	require.True(t, collected(), "the calls callback kept its policies alive")
	require.Eventually(t, func() bool { runtime.GC(); return len(series(t, r)) == 1 }, time.Second, time.Millisecond,
		"the dropped policies are still observed: %v", series(t, r))
	assert.Equal(t, map[string]int64{"kept": 9}, series(t, r))
	assert.Zero(t, m.unregistered.Load(), "the callback went while a policy was live")

	runtime.KeepAlive(l)
	l = nil
	require.Eventually(t, func() bool { runtime.GC(); return m.unregistered.Load() == 1 }, time.Second, time.Millisecond,
		"the last policy's cleanup did not unregister the callback")
	assert.Empty(t, series(t, r))

	// A new policy on the same meter registers a callback again.
	wps = calls(m, 1)
	assert.Equal(t, int32(2), m.registered.Load())
	assert.Equal(t, map[string]int64{"0": 0}, series(t, r))
	runtime.KeepAlive(wps)
}
