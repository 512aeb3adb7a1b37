package ratelimit_test

import (
	"context"
	"errors"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The zero value of each limiter has no limit to apply: it runs nothing
// and returns an error that names the type, alone or in a pipeline, and
// its other methods neither panic nor pretend to work.
func TestZeroValuesReturnAnErrorNamingTheType(t *testing.T) {
	for _, c := range []struct {
		p   bulwark.Policy
		msg string
	}{
		{&ratelimit.Limiter{}, "bulwark/ratelimit: a zero ratelimit.Limiter has no limit; build it with ratelimit.New"},
		{&ratelimit.SlidingWindow{}, "bulwark/ratelimit: a zero ratelimit.SlidingWindow has no limit; build it with ratelimit.NewSlidingWindow"},
		{&ratelimit.Keyed{}, "bulwark/ratelimit: a zero ratelimit.Keyed has no limit; build it with ratelimit.NewKeyed"},
	} {
		called := false
		fn := func(context.Context) error { called = true; return nil }
		err := c.p.Execute(context.Background(), fn)
		require.EqualError(t, err, c.msg)
		assert.ErrorIs(t, err, ratelimit.ErrZeroValue)
		assert.False(t, errors.Is(err, bulwark.ErrRejected), "a zero value is a mistake, not a rejection")
		assert.EqualError(t, bulwark.New(c.p).Execute(context.Background(), fn), c.msg)
		assert.False(t, called)
	}

	var l ratelimit.Limiter
	assert.EqualError(t, l.SetLimit(1), "bulwark/ratelimit: a zero ratelimit.Limiter has no limit; build it with ratelimit.New")
	assert.ErrorIs(t, l.SetBurst(1), ratelimit.ErrZeroValue)
	assert.Equal(t, ratelimit.Snapshot{}, l.Snapshot())
	var s ratelimit.SlidingWindow
	assert.Equal(t, ratelimit.WindowSnapshot{}, s.Snapshot())
	var k ratelimit.Keyed
	assert.Zero(t, k.Len())
	assert.Equal(t, ratelimit.KeySnapshot{}, k.Snapshot())
	_, ok := k.Tokens("a")
	assert.False(t, ok)
}
