package hedge_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/hedge"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/internal/semconv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHedgeEventLandsAsMetricAndSpanEvent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := otest.NewMeter()
		sr, tp := otest.Tracing()
		h := hedge.New(hedge.WithName("replicas"), hedge.WithMeterProvider(m), hedge.WithDelay(10*time.Millisecond))
		p := bulwark.New(h).With(bulwark.WithName("search"))
		a := &attempts{took: []time.Duration{time.Hour, time.Millisecond}}

		ctx, span := tp.Tracer("test").Start(context.Background(), "call")
		require.NoError(t, p.Execute(ctx, a.call))
		span.End()

		m.AssertEvents(t, otest.EventPoint("search", "hedge", "replicas", "hedge", 1))
		events := sr.Ended()[0].Events()
		require.Len(t, events, 1)
		assert.Equal(t, "bulwark.hedge", events[0].Name)
		assert.Contains(t, events[0].Attributes, semconv.AttrAttempt.Int(2))
		assert.Contains(t, events[0].Attributes, semconv.AttrDelay.Float64(0.01))
	})
}
