package timeout_test

import (
	"context"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/internal/semconv"
	"github.com/bulwark-go/bulwark/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTimeoutEventLandsAsMetricAndSpanEvent(t *testing.T) {
	m := otest.NewMeter()
	sr, tp := otest.Tracing()
	tm := timeout.New(time.Millisecond, timeout.WithName("db"), timeout.WithMeterProvider(m))
	p := bulwark.New(tm).With(bulwark.WithName("checkout"))

	ctx, span := tp.Tracer("test").Start(context.Background(), "call")
	require.NoError(t, p.Execute(ctx, func(context.Context) error { return nil }), "no event on success")
	err := p.Execute(ctx, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	require.ErrorIs(t, err, timeout.ErrTimeout)
	span.End()

	m.AssertEvents(t, otest.EventPoint("checkout", "timeout", "db", "timeout", 1))
	events := sr.Ended()[0].Events()
	require.Len(t, events, 1)
	assert.Equal(t, "bulwark.timeout", events[0].Name)
	assert.Contains(t, events[0].Attributes, semconv.AttrPipeline.String("checkout"))
	assert.Contains(t, events[0].Attributes, semconv.AttrPolicyName.String("db"))
	assert.Contains(t, events[0].Attributes, semconv.AttrDelay.Float64(0.001))
	assert.Contains(t, events[0].Attributes, semconv.AttrError.String("bulwark/timeout: timed out"))
}
