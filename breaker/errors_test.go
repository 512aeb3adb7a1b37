package breaker_test

import (
	"context"
	"reflect"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ErrOpen has the shape of every bulwark sentinel: a comparable value of
// an unexported struct type, matched by errors.Is with ==.
func TestErrOpenIsAComparableValue(t *testing.T) {
	typ := reflect.TypeOf(breaker.ErrOpen)
	assert.Equal(t, reflect.Struct, typ.Kind())
	assert.True(t, typ.Comparable())
	assert.ErrorIs(t, breaker.ErrOpen, bulwark.ErrRejected)
}

// Every rejection matches ErrOpen and bulwark.ErrRejected and allocates
// nothing; only an open breaker's says when to come back.
func TestRejectionsAllocateNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		open := breaker.New(breaker.WithOpenDuration(time.Hour))
		run(open, "FFFFF")
		isolated := breaker.New()
		isolated.Isolate()
		busy := breaker.New(breaker.WithOpenDuration(time.Second))
		run(busy, "FFFFF")
		time.Sleep(time.Second)
		probe, err := busy.Acquire(context.Background()) // holds the only probe
		require.NoError(t, err)
		defer probe.Done(context.Background(), nil)

		for name, c := range map[string]struct {
			b    *breaker.Breaker
			msg  string
			hint bool
		}{
			"open":      {open, "bulwark/breaker: open", true},
			"isolated":  {isolated, "bulwark/breaker: open (isolated)", false},
			"half-open": {busy, "bulwark/breaker: open (half-open, all probes admitted)", false},
		} {
			for _, p := range []bulwark.Policy{c.b, bulwark.New(c.b)} {
				var err error
				allocs := testing.AllocsPerRun(100, func() { err = p.Execute(context.Background(), nop) })
				assert.Zero(t, allocs, name)
				assert.ErrorIs(t, err, breaker.ErrOpen, name)
				assert.ErrorIs(t, err, bulwark.ErrRejected, name)
				assert.EqualError(t, err, c.msg, name)
				d, ok := bulwark.RetryAfter(err)
				assert.Equal(t, c.hint, ok, name)
				if c.hint {
					assert.Equal(t, time.Hour-time.Second, d, name, "opened a second ago")
				}
			}
		}
	})
}

// A rejection event says why through its error, and carries the hint in
// Delay; Reason is kept for the reasons of state changes, not the state a
// rejection happened in.
func TestRejectionEventsCarryTheHintNotTheState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev otest.Events
		b := breaker.New(breaker.WithOpenDuration(time.Minute), breaker.WithObserver(ev.Observe))
		run(b, "FFFFF")
		time.Sleep(time.Second)
		err := b.Execute(context.Background(), nop)
		b.Isolate()
		errIsolated := b.Execute(context.Background(), nop)
		var rejections []bulwark.Event
		for _, e := range ev.List() {
			if e.Type == bulwark.EventRejected {
				rejections = append(rejections, e)
			}
		}
		require.Len(t, rejections, 2)
		assert.Equal(t, bulwark.Event{Type: bulwark.EventRejected, Policy: "breaker", Delay: 59 * time.Second, Err: err}, rejections[0])
		assert.Equal(t, bulwark.Event{Type: bulwark.EventRejected, Policy: "breaker", Err: errIsolated}, rejections[1])
	})
}
