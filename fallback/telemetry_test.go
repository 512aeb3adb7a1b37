package fallback_test

import (
	"context"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/fallback"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/internal/semconv"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFallbackEventLandsAsMetricAndSpanEvent(t *testing.T) {
	m := otest.NewMeter()
	sr, tp := otest.Tracing()
	f := fallback.New(func(context.Context, error) error { return nil }, fallback.WithName("cache"))
	p := bulwark.New(f).With(bulwark.WithName("prices"), bulwark.WithMeterProvider(m))

	ctx, span := tp.Tracer("test").Start(context.Background(), "call")
	require.NoError(t, p.Execute(ctx, func(context.Context) error { return nil }))
	require.NoError(t, p.Execute(ctx, testutil.Fail))
	require.NoError(t, p.Execute(ctx, testutil.Fail))
	span.End()

	m.AssertEvents(t, otest.EventPoint("prices", "fallback", "cache", "fallback", 2))
	events := sr.Ended()[0].Events()
	require.Len(t, events, 2)
	assert.Equal(t, "bulwark.fallback", events[0].Name)
	assert.Contains(t, events[0].Attributes, semconv.AttrError.String(testutil.ErrDep.Error()))
}
