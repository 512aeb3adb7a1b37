package ratelimit_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/internal/semconv"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Status tells each limiter's tokens (or room) and rejections in the
// shape every policy shares, and bulwark.calls exports the same
// rejections: WithMeterProvider's doc says it records them.
func TestStatusAndCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := otest.NewMeter()
		mp := ratelimit.WithMeterProvider(m)
		bucket := ratelimit.New(10, 4, ratelimit.WithName("bucket"), mp)
		keyed := ratelimit.NewKeyed(10, 4, tenant, ratelimit.WithName("keyed"), mp)
		window := ratelimit.NewSlidingWindow(4, time.Second, ratelimit.WithName("window"), mp)
		for _, p := range []bulwark.Policy{bucket, keyed, window} {
			for range 5 { // 4 admitted, 1 rejected
				_ = p.Execute(as("a"), nop)
			}
		}
		_ = window.Execute(as("a"), nop)
		time.Sleep(250 * time.Millisecond) // 2.5 tokens back in the bucket
		assert.Equal(t, bulwark.Status{Kind: "ratelimit", Name: "bucket", Tokens: 2.5, Rejected: 1}, bucket.Status())
		assert.Equal(t, bulwark.Status{Kind: "ratelimit", Name: "keyed", Rejected: 1}, keyed.Status())
		assert.Equal(t, bulwark.Status{Kind: "ratelimit", Name: "window", Rejected: 2}, window.Status(), "no room in the window")
		time.Sleep(1250 * time.Millisecond) // halfway into the next window: the 4 calls weigh 2
		assert.InDelta(t, 2, window.Status().Tokens, 1e-9)
		for _, s := range []bulwark.Inspectable{bucket, keyed, window} {
			assert.Zero(t, testing.AllocsPerRun(100, func() { _ = s.Status() }))
		}

		got, ok := m.Metric(t, semconv.MetricCalls)
		require.True(t, ok)
		points := got.Data.(metricdata.Sum[int64]).DataPoints
		require.Len(t, points, 3, "a series a limiter: rejections only")
		want := map[string]int64{"bucket": 1, "keyed": 1, "window": 2}
		for _, pt := range points {
			name, _ := pt.Attributes.Value(semconv.AttrPolicyName)
			outcome, _ := pt.Attributes.Value(semconv.AttrOutcome)
			assert.Equal(t, "rejected", outcome.AsString())
			assert.Equal(t, want[name.AsString()], pt.Value, name.AsString())
		}
	})
}

func TestStatusOfZeroValues(t *testing.T) {
	for _, s := range []bulwark.Inspectable{&ratelimit.Limiter{}, &ratelimit.SlidingWindow{}, &ratelimit.Keyed{}} {
		assert.Equal(t, bulwark.Status{Kind: "ratelimit"}, s.Status())
	}
}
