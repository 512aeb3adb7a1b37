// Package observe registers a policy's observable instruments without
// keeping the policy alive.
//
// A callback registered on a meter lives as long as the meter provider,
// and the global provider lives as long as the process: a callback that
// held its policy would keep every dropped policy (a per-host breaker, a
// per-tenant bulkhead) in memory for ever, with or without an SDK. Register
// holds the policy through a weak pointer and unregisters the callback when
// the policy is collected, so a policy needs no Close.
package observe

import (
	"context"
	"runtime"
	"weak"

	"go.opentelemetry.io/otel/metric"
)

// Register registers cb on m for the given instruments. cb receives the
// owner while it is alive; it must not capture owner itself (or anything
// that refers to it), or the owner is never collected. When owner is
// collected, the registration is unregistered. Registration errors are
// dropped: the API returns them only for instruments of another provider.
func Register[T any](m metric.Meter, owner *T, cb func(owner *T, o metric.Observer), instruments ...metric.Observable) {
	wp := weak.Make(owner)
	reg, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		if p := wp.Value(); p != nil {
			cb(p, o)
		}
		return nil
	}, instruments...)
	if err != nil || reg == nil {
		return
	}
	runtime.AddCleanup(owner, func(r metric.Registration) { _ = r.Unregister() }, reg)
}
