package breaker_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func stateChanges(events []bulwark.Event) []string {
	var got []string
	for _, e := range events {
		if e.Type == bulwark.EventStateChange {
			got = append(got, e.From+">"+e.To+":"+e.Reason)
		}
	}
	return got
}

// The timer's transition has no caller to take an observer's panic: it is
// dropped once the transition is complete, and the process goes on.
func TestObserverPanicOnATimerTransitionIsDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tr transitions
		b := breaker.New(breaker.WithConsecutiveFailures(1), breaker.WithOpenDuration(time.Second),
			breaker.WithObserver(func(ctx context.Context, e bulwark.Event) {
				if e.To == "half_open" {
					panic("observer bug")
				}
			}),
			breaker.WithObserver(tr.observe))
		run(b, "F")
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, breaker.HalfOpen, b.State(), "the transition completed")
		require.NoError(t, b.Execute(context.Background(), nop))
		assert.Equal(t, breaker.Closed, b.State())
		assert.Equal(t, []string{"closed>open:consecutive_failures", "half_open>closed:probes_succeeded"}, tr.list(),
			"observers after the one that panicked miss that one event")
	})
}

// An observer's panic on a transition that a caller's call caused reaches
// that caller, after the transition is complete.
func TestObserverPanicOnACallerTransitionReachesTheCaller(t *testing.T) {
	b := breaker.New(breaker.WithConsecutiveFailures(1), breaker.WithObserver(func(ctx context.Context, e bulwark.Event) {
		if e.To == "open" {
			panic("observer bug")
		}
	}))
	assert.PanicsWithValue(t, "observer bug", func() { _ = b.Execute(context.Background(), fail) })
	assert.Equal(t, breaker.Open, b.State())
}

// A call's own panic reaches its caller unchanged, even when an observer
// of the transition it causes panics too.
func TestPanicOfTheCallWinsOverAnObserverPanic(t *testing.T) {
	b := breaker.New(breaker.WithConsecutiveFailures(1), breaker.WithObserver(func(ctx context.Context, e bulwark.Event) {
		panic("observer bug")
	}))
	assert.PanicsWithValue(t, "boom", func() {
		_ = b.Execute(context.Background(), func(context.Context) error { panic("boom") })
	})
	assert.Equal(t, breaker.Open, b.State())
}

// A transition caused by a panic is reported in the call's pipeline, and
// the timer's transitions after it too.
func TestPipelineObserversSeeTheTransitionsAfterAPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev otest.Events
		b := breaker.New(breaker.WithConsecutiveFailures(1), breaker.WithOpenDuration(time.Second))
		p := bulwark.New(b).With(bulwark.WithName("checkout"), bulwark.WithObserver(ev.Observe))
		assert.PanicsWithValue(t, "boom", func() {
			_ = p.Execute(context.Background(), func(context.Context) error { panic("boom") })
		})
		time.Sleep(time.Second)
		synctest.Wait()
		require.NoError(t, p.Execute(context.Background(), nop))
		assert.Equal(t, []string{
			"closed>open:consecutive_failures", "open>half_open:open_duration_elapsed", "half_open>closed:probes_succeeded",
		}, stateChanges(ev.List()))
		for _, e := range ev.List() {
			assert.Equal(t, "checkout", e.Pipeline)
		}
	})
}
