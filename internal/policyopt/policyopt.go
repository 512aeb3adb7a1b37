// Package policyopt holds what every policy's options share: the instance
// name, the meter provider and the observers its events go to, and the
// checks that reject bad values at construction with a message naming the
// package, the option and the value.
package policyopt

import (
	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/core"
	"go.opentelemetry.io/otel/metric"
)

// Telemetry is the part of a policy's configuration that names it and says
// where its events go.
type Telemetry struct {
	Name          string
	MeterProvider metric.MeterProvider
	Observers     []bulwark.Observer
}

// Reporter returns the reporter of a policy of the given kind.
func (t *Telemetry) Reporter(kind string) core.Reporter {
	return core.NewReporter(kind, t.Name, t.MeterProvider, t.Observers...)
}

// Name checks a WithName value of package pkg ("retry"): it panics if name
// is empty.
func Name(pkg, name string) string {
	if name == "" {
		panic("bulwark/" + pkg + ": WithName: name must not be empty")
	}
	return name
}

// MeterProvider checks a WithMeterProvider value: it panics if mp is nil.
func MeterProvider(pkg string, mp metric.MeterProvider) metric.MeterProvider {
	if mp == nil {
		panic("bulwark/" + pkg + ": WithMeterProvider: provider must not be nil")
	}
	return mp
}

// Observer checks a WithObserver value: it panics if o is nil.
func Observer(pkg string, o bulwark.Observer) bulwark.Observer {
	if o == nil {
		panic("bulwark/" + pkg + ": WithObserver: observer must not be nil")
	}
	return o
}
