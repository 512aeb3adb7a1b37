package ratelimit_test

import (
	"reflect"
	"testing"

	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/stretchr/testify/assert"
)

// Each option's declared type says which constructors take it, so that
// an option given to a constructor it does not apply to is a compile
// error (ratelimit.NewSlidingWindow(100, time.Minute,
// ratelimit.WithMaxWait(time.Second)) does not build), not a panic at run
// time.
func TestEachOptionTypeSaysWhereItApplies(t *testing.T) {
	forNew := reflect.TypeFor[ratelimit.Option]()
	forKeyed := reflect.TypeFor[ratelimit.KeyedOption]()
	forWindow := reflect.TypeFor[ratelimit.WindowOption]()
	for name, c := range map[string]struct {
		fn          any
		new, window bool
	}{
		"WithMaxWait":       {ratelimit.WithMaxWait, true, false},
		"WithMaxKeys":       {ratelimit.WithMaxKeys, false, false},
		"WithIdleExpiry":    {ratelimit.WithIdleExpiry, false, false},
		"WithName":          {ratelimit.WithName, true, true},
		"WithMeterProvider": {ratelimit.WithMeterProvider, true, true},
		"WithObserver":      {ratelimit.WithObserver, true, true},
	} {
		out := reflect.TypeOf(c.fn).Out(0)
		assert.Equal(t, c.new, out.Implements(forNew), "%s: taken by New", name)
		assert.True(t, out.Implements(forKeyed), "%s: taken by NewKeyed", name)
		assert.Equal(t, c.window, out.Implements(forWindow), "%s: taken by NewSlidingWindow", name)
	}
}
