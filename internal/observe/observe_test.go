package observe_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
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

type limited struct{ rejected atomic.Int64 }

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
