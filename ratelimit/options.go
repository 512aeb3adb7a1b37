package ratelimit

import (
	"fmt"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/policyopt"
	"go.opentelemetry.io/otel/metric"
)

// Option configures a Limiter, a SlidingWindow or a Keyed limiter. Options
// that do not apply to a kind are rejected by its constructor.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	maxWait time.Duration
	maxKeys int
	idle    time.Duration
	tel     policyopt.Telemetry
}

func panicf(option, format string, args ...any) {
	panic(fmt.Sprintf("bulwark/ratelimit: "+option+": "+format, args...))
}

// WithMaxWait makes a call over the limit wait up to d for its turn, while
// the caller's context allows, instead of being rejected at once; a wait
// that would be longer is rejected at once, with the wait as its hint. A
// cancelled wait gives its token back if no later call has taken its turn
// behind it; otherwise its turn passes unused, so the bucket may admit one
// call fewer, never one more. Default: 0 (reject at once). It panics if
// d <= 0; math.MaxInt64 waits as long as the context allows.
func WithMaxWait(d time.Duration) Option {
	if d <= 0 {
		panicf("WithMaxWait", "duration must be > 0, got %v", d)
	}
	return optionFunc(func(c *config) { c.maxWait = d })
}

// WithMaxKeys bounds the keys a Keyed limiter remembers: a new key past
// it makes the limiter forget one it remembers, the least recently used
// (exactly below 1024 keys, among the keys of the new key's lock from
// 1024 on). Below the bound nothing is forgotten but idle keys. Default:
// 10000. It panics if n < 1.
func WithMaxKeys(n int) Option {
	if n < 1 {
		panicf("WithMaxKeys", "n must be >= 1, got %d", n)
	}
	return optionFunc(func(c *config) { c.maxKeys = n })
}

// WithIdleExpiry makes a Keyed limiter forget a key unused for d whose
// bucket is full again (forgetting it then changes nothing: the key's next
// call finds a full bucket either way). Keys are swept lazily: each call
// forgets up to two idle keys of the lock it takes (one lock for up to
// 1023 keys, 16 beyond), so an idle key may linger until a call passes its
// way; the key count never exceeds WithMaxKeys. Default: 10 minutes. It
// panics if d <= 0.
func WithIdleExpiry(d time.Duration) Option {
	if d <= 0 {
		panicf("WithIdleExpiry", "duration must be > 0, got %v", d)
	}
	return optionFunc(func(c *config) { c.idle = d })
}

// WithName names the limiter in its events (bulwark.policy.name).
// Default: unnamed. It panics if name is empty.
func WithName(name string) Option {
	name = policyopt.Name("ratelimit", name)
	return optionFunc(func(c *config) { c.tel.Name = name })
}

// WithMeterProvider records the limiter's events and call counts through
// mp. Default: the global provider (and, for events, the pipeline's if it
// has one). It panics if mp is nil.
func WithMeterProvider(mp metric.MeterProvider) Option {
	mp = policyopt.MeterProvider("ratelimit", mp)
	return optionFunc(func(c *config) { c.tel.MeterProvider = mp })
}

// WithObserver adds an observer of the limiter's events. Default: none. It
// panics if o is nil.
func WithObserver(o bulwark.Observer) Option {
	o = policyopt.Observer("ratelimit", o)
	return optionFunc(func(c *config) { c.tel.Observers = append(c.tel.Observers, o) })
}

func newConfig(kind string, opts []Option) config {
	c := config{}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if kind != "keyed" && (c.maxKeys != 0 || c.idle != 0) {
		panicf("New"+kindSuffix(kind), "WithMaxKeys and WithIdleExpiry apply to keyed limiters only")
	}
	return c
}

func kindSuffix(kind string) string {
	if kind == "sliding" {
		return "SlidingWindow"
	}
	return ""
}
