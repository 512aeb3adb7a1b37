package retry_test

import (
	"context"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/internal/semconv"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRetryEventsLandAsMetricsAndSpanEvents(t *testing.T) {
	m := otest.NewMeter()
	sr, tp := otest.Tracing()
	r := retry.New(retry.WithName("inventory"), retry.WithMeterProvider(m), retry.WithDelay(0), retry.WithMaxAttempts(2))
	p := bulwark.New(r).With(bulwark.WithName("checkout"))

	ctx, span := tp.Tracer("test").Start(context.Background(), "call")
	require.ErrorIs(t, p.Execute(ctx, testutil.Fail), retry.ErrExhausted)
	span.End()

	m.AssertEvents(t,
		otest.EventPoint("checkout", "retry", "inventory", "retry", 1),
		otest.EventPoint("checkout", "retry", "inventory", "exhausted", 1),
	)
	events := sr.Ended()[0].Events()
	require.Len(t, events, 2)
	assert.Equal(t, "bulwark.retry", events[0].Name)
	assert.Contains(t, events[0].Attributes, semconv.AttrAttempt.Int(2))
	assert.Contains(t, events[0].Attributes, semconv.AttrError.String(testutil.ErrDep.Error()))
	assert.Equal(t, "bulwark.retry.exhausted", events[1].Name)
	assert.Contains(t, events[1].Attributes, semconv.AttrReason.String(retry.ReasonMaxAttempts))
}
