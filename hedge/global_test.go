package hedge_test

import (
	"context"
	"testing"

	"github.com/bulwark-go/bulwark/hedge"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/otel"
)

// A zero Hedge runs with New()'s configuration but counts in itself, so
// the configuration it borrows exports no bulwark.calls: that would be an
// unnamed series that never moves. Through the global provider, once an
// SDK is installed, only the Hedge built with New has a series. The test
// runs in a process of its own, since it installs the global provider.
func TestTheZeroHedgesConfigurationExportsNoCalls(t *testing.T) {
	if !testutil.InChild(t) {
		testutil.RunInChild(t)
		return
	}
	m := otest.NewMeter()
	otel.SetMeterProvider(m)
	named := hedge.New(hedge.WithName("named"))
	_ = named.Execute(context.Background(), testutil.Fail) // the primary and the hedge fail
	var zero hedge.Hedge
	_ = zero.Execute(context.Background(), testutil.Nop)
	assert.Equal(t, map[string]int64{"failure": 1}, testutil.Calls(t, m, "hedge", "named"))
}
