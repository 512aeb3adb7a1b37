package retry_test

import (
	"context"
	"testing"

	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/otel"
)

// A zero Retry runs with New()'s configuration but counts in itself, so
// the configuration it borrows exports no bulwark.calls: that would be an
// unnamed series that never moves. Through the global provider, once an
// SDK is installed, only the Retry built with New has a series. The test
// runs in a process of its own, since it installs the global provider.
func TestTheZeroRetrysConfigurationExportsNoCalls(t *testing.T) {
	if !testutil.InChild(t) {
		testutil.RunInChild(t)
		return
	}
	m := otest.NewMeter()
	otel.SetMeterProvider(m)
	named := retry.New(retry.WithName("named"), retry.WithDelay(0))
	_ = named.Execute(context.Background(), testutil.Fail)
	var zero retry.Retry
	_ = zero.Execute(context.Background(), testutil.Nop)
	assert.Equal(t, map[string]int64{"failure": 1}, testutil.Calls(t, m, "retry", "named"))
}
