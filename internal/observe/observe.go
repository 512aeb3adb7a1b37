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
	"reflect"
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
// must not capture the owner.
//
// Policies are built by the thousand, and a callback registered with an
// SDK costs about 1.4 KiB: so all the policies of one meter share one
// counter and one callback, which walks a list of weak entries, and a
// policy adds only its entry (about 200 bytes, its cleanup included). The
// attribute sets of an entry are built at its first collection, so a
// policy that is never collected from pays nothing for them. When a
// meter's last policy is collected, its callback is unregistered.
func Calls[T any](r core.Reporter, owner *T, count func(owner *T, o outcome.Outcome) int64, outcomes ...outcome.Outcome) {
	wp := weak.Make(owner)
	attrs := r.Attributes()
	e := &callsEntry{}
	e.observe = func(o metric.Observer, c metric.Int64Observable) bool {
		p := wp.Value()
		if p == nil || o == nil {
			return p != nil
		}
		e.once.Do(func() {
			e.opts = make([]metric.ObserveOption, len(outcomes))
			for i, oc := range outcomes {
				e.opts[i] = metric.WithAttributeSet(attribute.NewSet(append(attrs[:len(attrs):len(attrs)], semconv.AttrOutcome.String(oc.String()))...))
			}
		})
		for i, oc := range outcomes {
			o.ObserveInt64(c, count(p, oc), e.opts[i])
		}
		return true
	}
	if g := join(r.Meter(), e); g != nil {
		runtime.AddCleanup(owner, (*group).remove, g)
	}
}

// A group is the bulwark.calls counter of one meter and the entries of its
// live policies.
type group struct {
	meter   metric.Meter
	counter metric.Int64ObservableCounter
	reg     metric.Registration

	mu      sync.Mutex
	entries []*callsEntry
	dead    int // entries whose owner was collected, not yet swept
}

// A callsEntry is one policy's part of its meter's callback. observe
// reports false once the policy is gone; with a nil Observer it only says
// whether the policy lives.
type callsEntry struct {
	observe func(o metric.Observer, c metric.Int64Observable) bool
	once    sync.Once
	opts    []metric.ObserveOption
}

var (
	groupsMu sync.Mutex
	groups   = map[metric.Meter]*group{}
)

// join adds e to m's group and returns the group, registering its counter
// and callback on first use, or returns nil if m cannot give one. A meter
// that cannot be a map key (a user's provider with an uncomparable meter
// type) gets a group per policy. e joins under groupsMu, so that it cannot
// join a group that remove is dropping.
func join(m metric.Meter, e *callsEntry) *group {
	comparable := reflect.TypeOf(m).Comparable()
	if comparable {
		groupsMu.Lock()
		defer groupsMu.Unlock()
		if g := groups[m]; g != nil {
			g.add(e)
			return g
		}
	}
	c, err := m.Int64ObservableCounter(semconv.MetricCalls,
		metric.WithDescription("Calls through a bulwark policy, by outcome."),
		metric.WithUnit("{call}"))
	if err != nil {
		return nil
	}
	g := &group{meter: m, counter: c}
	reg, err := m.RegisterCallback(g.collect, c)
	if err != nil {
		return nil
	}
	g.reg = reg
	if comparable {
		groups[m] = g
	}
	g.add(e)
	return g
}

func (g *group) add(e *callsEntry) {
	g.mu.Lock()
	g.entries = append(g.entries, e)
	g.mu.Unlock()
}

// remove runs when one of g's policies has been collected: it sweeps the
// entries of collected policies once they are a quarter of the list, and
// drops g when none is left.
func (g *group) remove() {
	g.mu.Lock()
	g.dead++
	if g.dead < len(g.entries) && g.dead*4 < len(g.entries) {
		g.mu.Unlock()
		return
	}
	live := g.entries[:0]
	for _, e := range g.entries {
		if e.observe(nil, nil) {
			live = append(live, e)
		}
	}
	clear(g.entries[len(live):])
	g.entries, g.dead = live, 0
	empty := len(live) == 0
	g.mu.Unlock()
	if !empty {
		return
	}
	groupsMu.Lock()
	defer groupsMu.Unlock()
	g.mu.Lock()
	// A policy may have joined g since it was found empty.
	drop := len(g.entries) == 0
	if drop && groups[g.meter] == g {
		delete(groups, g.meter)
	}
	g.mu.Unlock()
	// Not under g.mu: the SDK holds its own lock while it calls collect,
	// which takes g.mu, and Unregister takes the SDK's. No policy can
	// join g meanwhile: joining takes groupsMu.
	if drop {
		_ = g.reg.Unregister()
	}
}

// collect is g's callback: it observes every live entry, outside g's lock.
func (g *group) collect(_ context.Context, o metric.Observer) error {
	g.mu.Lock()
	entries := append([]*callsEntry(nil), g.entries...)
	g.mu.Unlock()
	for _, e := range entries {
		e.observe(o, g.counter)
	}
	return nil
}
