package breaker_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/internal/semconv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func TestStateChangesAndRejectionsLandAsMetricsAndSpanEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := otest.NewMeter()
		sr, tp := otest.Tracing()
		b := breaker.New(breaker.WithName("db"), breaker.WithMeterProvider(m),
			breaker.WithConsecutiveFailures(1), breaker.WithOpenDuration(time.Second))
		p := bulwark.New(b).With(bulwark.WithName("checkout"))

		ctx, span := tp.Tracer("test").Start(context.Background(), "call")
		require.ErrorIs(t, p.Execute(ctx, fail), errDep)
		require.ErrorIs(t, p.Execute(ctx, nop), breaker.ErrOpen)
		span.End()
		time.Sleep(time.Second) // the timer moves it to half-open, reported in the pipeline of the last transition
		synctest.Wait()

		m.AssertEvents(t,
			otest.EventPoint("checkout", "breaker", "db", "state_change", 1,
				semconv.AttrStateFrom.String("closed"), semconv.AttrStateTo.String("open")),
			otest.EventPoint("checkout", "breaker", "db", "rejected", 1),
			otest.EventPoint("checkout", "breaker", "db", "state_change", 1,
				semconv.AttrStateFrom.String("open"), semconv.AttrStateTo.String("half_open")),
		)
		events := sr.Ended()[0].Events()
		require.Len(t, events, 2)
		assert.Equal(t, "bulwark.breaker.state_change", events[0].Name)
		assert.Contains(t, events[0].Attributes, semconv.AttrReason.String(breaker.ReasonConsecutiveFailures))
		assert.Contains(t, events[0].Attributes, semconv.AttrStateTo.String("open"))
		assert.Equal(t, "bulwark.breaker.rejected", events[1].Name)

		state, ok := m.Metric(t, breaker.MetricState)
		require.True(t, ok)
		gauge := state.Data.(metricdata.Gauge[int64])
		current := map[string]int64{}
		for _, dp := range gauge.DataPoints {
			v, _ := dp.Attributes.Value(semconv.AttrState)
			current[v.AsString()] = dp.Value
		}
		assert.Equal(t, map[string]int64{"closed": 0, "open": 0, "half_open": 1, "isolated": 0, "disabled": 0}, current)

		calls, ok := m.Metric(t, semconv.MetricCalls)
		require.True(t, ok)
		counts := map[string]int64{}
		for _, dp := range calls.Data.(metricdata.Sum[int64]).DataPoints {
			v, _ := dp.Attributes.Value(semconv.AttrOutcome)
			name, _ := dp.Attributes.Value(semconv.AttrPolicyName)
			assert.Equal(t, "db", name.AsString())
			counts[v.AsString()] = dp.Value
		}
		assert.Equal(t, map[string]int64{"success": 0, "failure": 1, "ignored": 0, "rejected": 1}, counts)
	})
}

func TestStateGaugeSeriesHaveBoundedAttributes(t *testing.T) {
	m := otest.NewMeter()
	breaker.New(breaker.WithMeterProvider(m), breaker.WithName("db"))
	state, ok := m.Metric(t, breaker.MetricState)
	require.True(t, ok)
	for _, dp := range state.Data.(metricdata.Gauge[int64]).DataPoints {
		assert.ElementsMatch(t, []attribute.Key{semconv.AttrPolicy, semconv.AttrPolicyName, semconv.AttrState}, keys(dp.Attributes))
	}
}

func keys(s attribute.Set) []attribute.Key {
	var k []attribute.Key
	for _, kv := range s.ToSlice() {
		k = append(k, kv.Key)
	}
	return k
}

// The transition a panicking call causes is added to that call's span.
func TestPanicTripLandsOnTheCallsSpan(t *testing.T) {
	sr, tp := otest.Tracing()
	b := breaker.New(breaker.WithConsecutiveFailures(1))
	ctx, span := tp.Tracer("test").Start(context.Background(), "call")
	assert.Panics(t, func() {
		_ = b.Execute(ctx, func(context.Context) error { panic("boom") })
	})
	span.End()
	events := sr.Ended()[0].Events()
	require.Len(t, events, 1)
	assert.Equal(t, "bulwark.breaker.state_change", events[0].Name)
	assert.Contains(t, events[0].Attributes, semconv.AttrStateTo.String("open"))
}
