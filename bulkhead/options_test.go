package bulkhead_test

import (
	"reflect"
	"testing"

	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/stretchr/testify/assert"
)

// Each option's declared type says which constructors take it, so that
// an option given to a constructor it does not apply to is a compile
// error (bulkhead.New(1, bulkhead.WithLimits(1, 10)) does not build), not
// a panic at run time.
func TestEachOptionTypeSaysWhereItApplies(t *testing.T) {
	forNew := reflect.TypeFor[bulkhead.Option]()
	forAdaptive := reflect.TypeFor[bulkhead.AdaptiveOption]()
	for name, c := range map[string]struct {
		fn  any
		new bool
	}{
		"WithMaxQueue":      {bulkhead.WithMaxQueue, true},
		"WithMaxWait":       {bulkhead.WithMaxWait, true},
		"WithName":          {bulkhead.WithName, true},
		"WithMeterProvider": {bulkhead.WithMeterProvider, true},
		"WithObserver":      {bulkhead.WithObserver, true},
		"WithLimits":        {bulkhead.WithLimits, false},
		"WithInitialLimit":  {bulkhead.WithInitialLimit, false},
		"WithSampleWindow":  {bulkhead.WithSampleWindow, false},
		"WithFailureIf":     {bulkhead.WithFailureIf, false},
		"WithIgnoreIf":      {bulkhead.WithIgnoreIf, false},
	} {
		out := reflect.TypeOf(c.fn).Out(0)
		assert.Equal(t, c.new, out.Implements(forNew), "%s: taken by New", name)
		assert.True(t, out.Implements(forAdaptive), "%s: taken by NewAdaptive", name)
	}
}
