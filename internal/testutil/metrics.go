package testutil

import (
	"testing"

	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/internal/semconv"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Calls collects the bulwark.calls series m holds and returns their
// values by outcome. It fails the test unless every series is of the
// policy of that kind and name.
func Calls(t testing.TB, m otest.Meter, kind, name string) map[string]int64 {
	t.Helper()
	got, ok := m.Metric(t, semconv.MetricCalls)
	require.True(t, ok, "no %s metric", semconv.MetricCalls)
	sum, ok := got.Data.(metricdata.Sum[int64])
	require.True(t, ok, "%s is a %T", semconv.MetricCalls, got.Data)
	require.True(t, sum.IsMonotonic)
	require.Equal(t, metricdata.CumulativeTemporality, sum.Temporality)
	byOutcome := map[string]int64{}
	for _, p := range sum.DataPoints {
		k, _ := p.Attributes.Value(semconv.AttrPolicy)
		n, _ := p.Attributes.Value(semconv.AttrPolicyName)
		require.Equal(t, kind, k.AsString())
		require.Equal(t, name, n.AsString())
		o, _ := p.Attributes.Value(semconv.AttrOutcome)
		byOutcome[o.AsString()] = p.Value
	}
	return byOutcome
}
