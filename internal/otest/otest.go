// Package otest records bulwark's OpenTelemetry output in tests: an SDK
// MeterProvider with a manual reader, and a TracerProvider with a span
// recorder.
package otest

import (
	"context"
	"sync"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/semconv"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// Meter is an SDK MeterProvider read by hand.
type Meter struct {
	*sdkmetric.MeterProvider
	reader *sdkmetric.ManualReader
}

// NewMeter returns a Meter with nothing recorded.
func NewMeter() Meter {
	r := sdkmetric.NewManualReader()
	return Meter{sdkmetric.NewMeterProvider(sdkmetric.WithReader(r)), r}
}

// Metric collects and returns the named metric of bulwark's scope, or
// ok=false if it was not recorded.
func (m Meter) Metric(t testing.TB, name string) (metricdata.Metrics, bool) {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, m.reader.Collect(context.Background(), &rm))
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != semconv.ScopeName {
			continue
		}
		for _, mt := range sm.Metrics {
			if mt.Name == name {
				return mt, true
			}
		}
	}
	return metricdata.Metrics{}, false
}

// Scope collects and returns the instrumentation scope of that name, or
// ok=false if nothing was recorded in it.
func (m Meter) Scope(t testing.TB, name string) (instrumentation.Scope, bool) {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, m.reader.Collect(context.Background(), &rm))
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name == name {
			return sm.Scope, true
		}
	}
	return instrumentation.Scope{}, false
}

// AssertEvents checks that bulwark.events holds exactly the given points.
func (m Meter) AssertEvents(t testing.TB, points ...metricdata.DataPoint[int64]) {
	t.Helper()
	got, ok := m.Metric(t, semconv.MetricEvents)
	require.True(t, ok, "no %s metric", semconv.MetricEvents)
	metricdatatest.AssertEqual(t, EventsMetric(points...), got,
		metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}

// EventsMetric is the bulwark.events metric with the given points.
func EventsMetric(points ...metricdata.DataPoint[int64]) metricdata.Metrics {
	return metricdata.Metrics{
		Name:        semconv.MetricEvents,
		Description: "Events reported by bulwark policies.",
		Unit:        "{event}",
		Data: metricdata.Sum[int64]{
			Temporality: metricdata.CumulativeTemporality,
			IsMonotonic: true,
			DataPoints:  points,
		},
	}
}

// EventPoint is one bulwark.events data point; an empty pipeline or name
// is an attribute left out.
func EventPoint(pipeline, policy, name, event string, value int64, extra ...attribute.KeyValue) metricdata.DataPoint[int64] {
	kv := []attribute.KeyValue{semconv.AttrPolicy.String(policy), semconv.AttrEvent.String(event)}
	if pipeline != "" {
		kv = append(kv, semconv.AttrPipeline.String(pipeline))
	}
	if name != "" {
		kv = append(kv, semconv.AttrPolicyName.String(name))
	}
	kv = append(kv, extra...)
	return metricdata.DataPoint[int64]{Attributes: attribute.NewSet(kv...), Value: value}
}

// Tracing returns a span recorder and a TracerProvider that feeds it.
func Tracing() (*tracetest.SpanRecorder, *sdktrace.TracerProvider) {
	sr := tracetest.NewSpanRecorder()
	return sr, sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
}

// Events records the events an Observer receives; it is safe for the
// goroutines of hedges and timers.
type Events struct {
	mu  sync.Mutex
	got []bulwark.Event
}

// Observe is the bulwark.Observer.
func (e *Events) Observe(_ context.Context, ev bulwark.Event) {
	e.mu.Lock()
	e.got = append(e.got, ev)
	e.mu.Unlock()
}

// List returns the events received so far, in order.
func (e *Events) List() []bulwark.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]bulwark.Event(nil), e.got...)
}
