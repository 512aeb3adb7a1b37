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
	"sync"
	"weak"

	"github.com/bulwark-go/bulwark/internal/core"
	"github.com/bulwark-go/bulwark/internal/outcome"
	"github.com/bulwark-go/bulwark/internal/semconv"
	"go.opentelemetry.io/otel/attribute"
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

// Calls exports the owner's call counts in the bulwark.calls observable
// counter, one series per outcome listed (a bulkhead or a rate limiter
// counts only its rejections), with the reporter's attributes. count reads
// the owner's running total for an outcome; like Register's callback, it
// must not capture the owner. The attribute sets are built at the first
// collection, so a policy that is never collected from pays nothing for
// them.
func Calls[T any](r core.Reporter, owner *T, count func(owner *T, o outcome.Outcome) int64, outcomes ...outcome.Outcome) {
	m := r.Meter()
	c, err := m.Int64ObservableCounter(semconv.MetricCalls,
		metric.WithDescription("Calls through a bulwark policy, by outcome."),
		metric.WithUnit("{call}"))
	if err != nil {
		return
	}
	attrs := r.Attributes()
	var (
		once sync.Once
		opts []metric.ObserveOption
	)
	Register(m, owner, func(p *T, o metric.Observer) {
		once.Do(func() {
			opts = make([]metric.ObserveOption, len(outcomes))
			for i, oc := range outcomes {
				opts[i] = metric.WithAttributeSet(attribute.NewSet(append(attrs[:len(attrs):len(attrs)], semconv.AttrOutcome.String(oc.String()))...))
			}
		})
		for i, oc := range outcomes {
			o.ObserveInt64(c, count(p, oc), opts[i])
		}
	}, c)
}
