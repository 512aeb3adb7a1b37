package bulwark

import (
	"github.com/bulwark-go/bulwark/internal/hook"
	"go.opentelemetry.io/otel/metric"
)

// Version is bulwark's version, given to OpenTelemetry as the
// instrumentation version of every meter bulwark creates.
const Version = "0.1.0"

func init() {
	hook.NewReporter = func(kind, name string, mp metric.MeterProvider, observers []Observer) any {
		return newReporter(kind, name, mp, observers...)
	}
	hook.Detach = func(n Next) Next { return Next{cur: n.cur} }
	hook.Inspect = inspect
}
