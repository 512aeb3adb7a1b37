package ratelimit

import (
	"fmt"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/policyopt"
	"go.opentelemetry.io/otel/metric"
)

// The three constructors take nested sets of options: a SlidingWindow
// only those every limiter takes, a token bucket those and its wait, a
// Keyed limiter all of them. The option types follow that nesting, so
// that an option given to a constructor it does not apply to does not
// compile.

// KeyedOption configures a Keyed limiter (NewKeyed). Every option of this
// package is a KeyedOption; WithMaxKeys and WithIdleExpiry are nothing
// else.
type KeyedOption interface{ applyKeyed(*config) }

// Option configures a token bucket (New), and a Keyed limiter as well:
// every Option is a KeyedOption. WithMaxWait is an Option, and so is every
// WindowOption.
type Option interface {
	KeyedOption
	applyBucket(*config)
}

// WindowOption configures a SlidingWindow (NewSlidingWindow). Only the
// options every limiter takes are WindowOptions (WithName,
// WithMeterProvider, WithObserver), so a WindowOption is an Option and a
// KeyedOption as well.
type WindowOption interface {
	Option
	applyWindow(*config)
}

// anyOption applies to every limiter.
type anyOption func(*config)

func (f anyOption) applyKeyed(c *config)  { f(c) }
func (f anyOption) applyBucket(c *config) { f(c) }
func (f anyOption) applyWindow(c *config) { f(c) }

// bucketOption applies to both token buckets.
type bucketOption func(*config)

func (f bucketOption) applyKeyed(c *config)  { f(c) }
func (f bucketOption) applyBucket(c *config) { f(c) }

// keyedOption applies to NewKeyed only.
type keyedOption func(*config)

func (f keyedOption) applyKeyed(c *config) { f(c) }

type config struct {
	maxWait time.Duration
	maxKeys int
	idle    time.Duration
	tel     policyopt.Telemetry
}

// newConfig applies opts with apply, ignoring nil ones.
func newConfig[O any](opts []O, apply func(O, *config)) config {
	var c config
	for _, o := range opts {
		if any(o) != nil {
			apply(o, &c)
		}
	}
	return c
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
	return bucketOption(func(c *config) { c.maxWait = d })
}

// WithMaxKeys bounds the keys a Keyed limiter remembers: a new key past
// it makes the limiter forget one it remembers, the least recently used
// (exactly while the bound is below 1024 keys, among the keys of the new
// key's lock from 1024 on). Below the bound nothing is forgotten but idle
// keys. Default: 10000. It panics if n < 1.
func WithMaxKeys(n int) KeyedOption {
	if n < 1 {
		panicf("WithMaxKeys", "n must be >= 1, got %d", n)
	}
	return keyedOption(func(c *config) { c.maxKeys = n })
}

// WithIdleExpiry makes a Keyed limiter forget a key unused for d whose
// bucket is full again (forgetting it then changes nothing: the key's next
// call finds a full bucket either way). Keys are swept lazily: each call
// forgets up to two idle keys of the lock it takes (one lock while
// WithMaxKeys is below 1024, 16 from 1024 on), so an idle key may linger
// until a call passes its way; the key count never exceeds WithMaxKeys.
// Default: 10 minutes. It panics if d <= 0.
func WithIdleExpiry(d time.Duration) KeyedOption {
	if d <= 0 {
		panicf("WithIdleExpiry", "duration must be > 0, got %v", d)
	}
	return keyedOption(func(c *config) { c.idle = d })
}

// WithName names the limiter in its events and metrics
// (bulwark.policy.name). Default: unnamed. It panics if name is empty.
func WithName(name string) WindowOption {
	name = policyopt.Name("ratelimit", name)
	return anyOption(func(c *config) { c.tel.Name = name })
}

// WithMeterProvider records the limiter's events and its bulwark.calls
// count of rejections through mp (allowed calls are not counted).
// Default: the global provider (and, for events, the pipeline's if it has
// one). It panics if mp is nil.
func WithMeterProvider(mp metric.MeterProvider) WindowOption {
	mp = policyopt.MeterProvider("ratelimit", mp)
	return anyOption(func(c *config) { c.tel.MeterProvider = mp })
}

// WithObserver adds an observer of the limiter's events. Default: none. It
// panics if o is nil.
func WithObserver(o bulwark.Observer) WindowOption {
	o = policyopt.Observer("ratelimit", o)
	return anyOption(func(c *config) { c.tel.Observers = append(c.tel.Observers, o) })
}
