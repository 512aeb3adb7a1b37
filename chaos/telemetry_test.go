package chaos_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/chaos"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/internal/semconv"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every injected fault is an EventInjected ("injected") whose Reason is
// the kind of fault: counted in bulwark.events, added to the call's span
// as bulwark.chaos.injected, and passed to observers with its delay or
// its error.
func TestInjectedFaultsAreEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		assert.Equal(t, "injected", chaos.EventInjected.String())
		m := otest.NewMeter()
		sr, tp := otest.Tracing()
		var seen otest.Events
		lat := chaos.New(chaos.WithName("slow"), chaos.WithLatency(1, time.Second, 0), chaos.WithObserver(seen.Observe))
		errs := chaos.New(chaos.WithName("slow"), chaos.WithError(1, errInjected), chaos.WithObserver(seen.Observe))
		out := chaos.New(chaos.WithName("slow"), chaos.WithOutcome(1, func(context.Context, error) error { return errReplaced }), chaos.WithObserver(seen.Observe))
		pan := chaos.New(chaos.WithName("slow"), chaos.WithPanic(1), chaos.WithObserver(seen.Observe))
		for _, c := range []*chaos.Chaos{lat, errs, out, pan} {
			c.SetEnabled(true)
		}
		p := bulwark.New(lat, errs).With(bulwark.WithName("checkout"), bulwark.WithMeterProvider(m))
		ctx, span := tp.Tracer("test").Start(context.Background(), "call")
		assert.Equal(t, errInjected, p.Execute(ctx, testutil.Nop))
		assert.Equal(t, errReplaced, bulwark.New(out).With(bulwark.WithName("checkout"), bulwark.WithMeterProvider(m)).Execute(ctx, testutil.Nop))
		_ = testutil.Recovered(func() {
			_ = bulwark.New(pan).With(bulwark.WithName("checkout"), bulwark.WithMeterProvider(m)).Execute(ctx, testutil.Nop)
		})
		span.End()

		m.AssertEvents(t, otest.EventPoint("checkout", "chaos", "slow", "injected", 4))
		events := sr.Ended()[0].Events()
		require.Len(t, events, 4)
		for i, reason := range []string{"latency", "error", "outcome", "panic"} {
			assert.Equal(t, "bulwark.chaos.injected", events[i].Name)
			assert.Contains(t, events[i].Attributes, semconv.AttrReason.String(reason))
		}
		assert.Contains(t, events[0].Attributes, semconv.AttrDelay.Float64(1))
		assert.Contains(t, events[1].Attributes, semconv.AttrError.String(errInjected.Error()))

		got := seen.List()
		require.Len(t, got, 4)
		want := []bulwark.Event{
			{Reason: "latency", Delay: time.Second},
			{Reason: "error", Err: errInjected},
			{Reason: "outcome", Err: errReplaced},
			{Reason: "panic", Err: chaos.ErrPanic},
		}
		for i := range want {
			want[i].Type, want[i].Policy, want[i].Name, want[i].Pipeline = chaos.EventInjected, "chaos", "slow", "checkout"
		}
		assert.Equal(t, want, got)
	})
}

// A delay is reported before the call waits it out, so that an observer
// sees it while the call is held.
func TestADelayIsReportedBeforeTheWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var seen otest.Events
		c := chaos.New(chaos.WithLatency(1, time.Minute, 0), chaos.WithObserver(seen.Observe))
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = c.Execute(chaos.Enable(context.Background()), testutil.Nop)
		}()
		synctest.Wait()
		assert.Len(t, seen.List(), 1)
		assert.Equal(t, 1, c.Snapshot().Delaying)
		<-done
	})
}
