package policyopt_test

import (
	"context"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/policyopt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestChecksNameThePackageAndOption(t *testing.T) {
	assert.PanicsWithValue(t, "bulwark/x: WithName: name must not be empty", func() { policyopt.Name("x", "") })
	assert.PanicsWithValue(t, "bulwark/x: WithMeterProvider: provider must not be nil", func() { policyopt.MeterProvider("x", nil) })
	assert.PanicsWithValue(t, "bulwark/x: WithObserver: observer must not be nil", func() { policyopt.Observer("x", nil) })
	assert.Equal(t, "db", policyopt.Name("x", "db"))
}

func TestReporterCarriesTheTelemetry(t *testing.T) {
	var got []bulwark.Event
	tel := policyopt.Telemetry{Name: "db", Observers: []bulwark.Observer{func(_ context.Context, e bulwark.Event) { got = append(got, e) }}}
	r := tel.Reporter("kind")
	r.Report(context.Background(), bulwark.Next{}, bulwark.Event{Type: bulwark.EventRejected})
	require.Len(t, got, 1)
	assert.Equal(t, "kind", got[0].Policy)
	assert.Equal(t, "db", got[0].Name)
}
