package coalesce

import (
	"context"
	"fmt"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/policyopt"
	"go.opentelemetry.io/otel/metric"
)

// Option configures a Coalesce in New. Nil options are ignored.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	stale staler
	tel   policyopt.Telemetry
}

// staler is a WithStaleWhileRevalidate of any type.
type staler interface {
	// serve hands the caller of ctx the stale value of key, if there is
	// one recent enough, and reports whether it did.
	serve(ctx context.Context, key string) bool
}

type staleLookup[T any] struct {
	window time.Duration
	lookup func(context.Context, string) (T, time.Time, bool)
}

func (s *staleLookup[T]) serve(ctx context.Context, key string) bool {
	v, expired, ok := s.lookup(ctx, key)
	if !ok || time.Since(expired) >= s.window {
		return false
	}
	if bulwark.Supply(ctx, v) {
		return true
	}
	// No Get of T in ctx: a caller of Execute, which reads the value from
	// the store itself, unless it called Get of another type, which would
	// receive nothing.
	_, isGet := ctx.Value(holderKey{}).(sharer)
	return !isGet
}

// WithStaleWhileRevalidate lets a caller that finds a call in flight for
// its key return at once with a stale value instead of waiting, while the
// leader refreshes it: lookup reads the user's cache, returning the value
// stored for key, the time it expired (or expires) and whether there is
// one. A value that expired less than window ago is served: Get returns
// it, and Execute returns nil, after which the caller reads the value
// from its cache as it would after a refresh. An older one, or none, and
// the caller waits for the refresh as usual. The leader always runs the
// call and waits for it; nothing runs in the background and no cache is
// built in: the user's call stores the fresh value, lookup reads it.
// lookup runs on the waiter's goroutine, without the Coalesce's lock, and
// must be safe for concurrent use. Default: none (every waiter waits). It
// panics if window is not positive or lookup is nil.
func WithStaleWhileRevalidate[T any](window time.Duration, lookup func(ctx context.Context, key string) (v T, expired time.Time, ok bool)) Option {
	if window <= 0 {
		panic(fmt.Sprintf("bulwark/coalesce: WithStaleWhileRevalidate: window must be > 0, got %v", window))
	}
	if lookup == nil {
		panic("bulwark/coalesce: WithStaleWhileRevalidate: lookup must not be nil")
	}
	s := &staleLookup[T]{window: window, lookup: lookup}
	return optionFunc(func(c *config) { c.stale = s })
}

// WithName names the policy in its events (bulwark.policy.name).
// Default: unnamed. It panics if name is empty.
func WithName(name string) Option {
	name = policyopt.Name("coalesce", name)
	return optionFunc(func(c *config) { c.tel.Name = name })
}

// WithMeterProvider records the policy's events through mp.
// Default: the pipeline's provider if it has one, else the global one.
// It panics if mp is nil.
func WithMeterProvider(mp metric.MeterProvider) Option {
	mp = policyopt.MeterProvider("coalesce", mp)
	return optionFunc(func(c *config) { c.tel.MeterProvider = mp })
}

// WithObserver adds an observer of the policy's events. Default: none.
// It panics if o is nil.
func WithObserver(o bulwark.Observer) Option {
	o = policyopt.Observer("coalesce", o)
	return optionFunc(func(c *config) { c.tel.Observers = append(c.tel.Observers, o) })
}
