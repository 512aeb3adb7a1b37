package redislimit_test

import (
	"crypto/sha256"
	"testing"

	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }

func assertDegradedGauge(t *testing.T, m otest.Meter, want int64) {
	t.Helper()
	got, ok := m.Metric(t, "bulwark.redis.degraded")
	require.True(t, ok)
	g, ok := got.Data.(metricdata.Gauge[int64])
	require.True(t, ok)
	require.Len(t, g.DataPoints, 1)
	assert.Equal(t, want, g.DataPoints[0].Value)
}
