package throttle_test

import (
	"context"
	"errors"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/internal/semconv"
	"github.com/bulwark-go/bulwark/throttle"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

var _ bulwark.Inspectable = (*throttle.Throttler)(nil)

// Status counts the throttler's own rejections, as bulwark.calls does.
func TestStatusAndCallsCountRejections(t *testing.T) {
	m := otest.NewMeter()
	th := throttle.New(throttle.WithName("inventory"), throttle.WithMeterProvider(m), throttle.WithMaxRejection(0.99))
	rejected := int64(0)
	for range 300 {
		if errors.Is(th.Execute(context.Background(), overloaded), throttle.ErrThrottled) {
			rejected++
		}
	}
	require.Positive(t, rejected)
	assert.Equal(t, bulwark.Status{Kind: "throttler", Name: "inventory", Rejected: rejected}, th.Status())

	got, ok := m.Metric(t, semconv.MetricCalls)
	require.True(t, ok)
	points := got.Data.(metricdata.Sum[int64]).DataPoints
	require.Len(t, points, 1)
	assert.Equal(t, rejected, points[0].Value)
	outcome, _ := points[0].Attributes.Value(semconv.AttrOutcome)
	assert.Equal(t, "rejected", outcome.AsString())
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = th.Status() }))
}
