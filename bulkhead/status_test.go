package bulkhead_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/internal/semconv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Status tells a bulkhead's limit, use and rejections in the shape every
// policy shares, and bulwark.calls exports the same rejections.
func TestStatusAndCalls(t *testing.T) {
	for kind, build := range map[string]func(m otest.Meter) bulwark.Inspectable{
		"bulkhead": func(m otest.Meter) bulwark.Inspectable {
			return bulkhead.New(1, bulkhead.WithMaxQueue(1), bulkhead.WithName("db"), bulkhead.WithMeterProvider(m))
		},
		"adaptive": func(m otest.Meter) bulwark.Inspectable {
			return bulkhead.NewAdaptive(bulkhead.Vegas(), bulkhead.WithLimits(1, 1), bulkhead.WithMaxQueue(1),
				bulkhead.WithName("db"), bulkhead.WithMeterProvider(m))
		},
	} {
		t.Run(kind, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := otest.NewMeter()
				s := build(m)
				p := s.(bulwark.Policy)
				release := make(chan struct{})
				var wg sync.WaitGroup
				hold(t, p, release, &wg) // runs
				hold(t, p, release, &wg) // queues
				synctest.Wait()
				require.ErrorIs(t, p.Execute(context.Background(), nop), bulkhead.ErrFull)
				assert.Equal(t, bulwark.Status{Kind: kind, Name: "db", InFlight: 1, Limit: 1, Queued: 1, Rejected: 1}, s.Status())
				assert.Zero(t, testing.AllocsPerRun(100, func() { _ = s.Status() }))

				got, ok := m.Metric(t, semconv.MetricCalls)
				require.True(t, ok)
				points := got.Data.(metricdata.Sum[int64]).DataPoints
				require.Len(t, points, 1, "rejections are all a bulkhead counts")
				assert.Equal(t, int64(1), points[0].Value)
				outcome, _ := points[0].Attributes.Value(semconv.AttrOutcome)
				assert.Equal(t, "rejected", outcome.AsString())
				policy, _ := points[0].Attributes.Value(semconv.AttrPolicy)
				assert.Equal(t, kind, policy.AsString())
				close(release)
				wg.Wait()
			})
		})
	}
	assert.Equal(t, bulwark.Status{Kind: "bulkhead"}, (&bulkhead.Bulkhead{}).Status())
	assert.Equal(t, bulwark.Status{Kind: "adaptive"}, (&bulkhead.Adaptive{}).Status())
}
