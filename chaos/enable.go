package chaos

import (
	"context"
	"sync/atomic"

	"go.opentelemetry.io/otel/baggage"
)

// enableKey marks a context of Enable.
type enableKey struct{}

// enableUsed is set the first time Enable is called. Until then no context
// can carry the mark, and a disabled Chaos skips the lookup: a context's
// Value walks its whole chain of parents, the only cost of a disabled
// Chaos that grows with the caller.
var enableUsed atomic.Bool

// Enable returns a copy of ctx under which every Chaos injects faults,
// whatever SetEnabled says: one call, or one request and every call it
// makes in this process. It does not cross process boundaries: for that,
// see EnableBaggage. It panics if ctx is nil, as context.WithValue does.
func Enable(ctx context.Context) context.Context {
	if !enableUsed.Load() {
		enableUsed.Store(true)
	}
	return context.WithValue(ctx, enableKey{}, true)
}

func enabledByContext(ctx context.Context) bool {
	return enableUsed.Load() && ctx.Value(enableKey{}) != nil
}

// BaggageKey and BaggageValue make the OpenTelemetry baggage member that
// EnableBaggage sets and BaggageEnabled looks for: bulwark.chaos=on. Any
// other value of the key switches nothing on.
const (
	BaggageKey   = "bulwark.chaos"
	BaggageValue = "on"
)

// EnableBaggage returns a copy of ctx whose OpenTelemetry baggage carries
// bulwark.chaos=on, so that the request carries it to every service it
// reaches, through the baggage propagator (propagation.Baggage, in
// otelhttp's or otelgrpc's propagators, or injected by hand). A service
// acts on it only if its Chaos was built with
// WithEnabled(chaos.BaggageEnabled). The member replaces one of the same
// key already there.
func EnableBaggage(ctx context.Context) context.Context {
	m, err := baggage.NewMemberRaw(BaggageKey, BaggageValue)
	if err != nil {
		panic("bulwark/chaos: EnableBaggage: " + err.Error()) // constants: cannot happen
	}
	b, err := baggage.FromContext(ctx).SetMember(m)
	if err != nil {
		panic("bulwark/chaos: EnableBaggage: " + err.Error())
	}
	return baggage.ContextWithBaggage(ctx, b)
}

// BaggageEnabled reports whether ctx's OpenTelemetry baggage carries
// bulwark.chaos=on. Pass it to WithEnabled to let requests switch a Chaos
// on from another process.
func BaggageEnabled(ctx context.Context) bool {
	return baggage.FromContext(ctx).Member(BaggageKey).Value() == BaggageValue
}
