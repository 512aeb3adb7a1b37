// Package lintinfo lets bulwark.Lint read the configuration of policies
// whose packages the root cannot import: each policy package registers, when
// it is initialised, a function that describes a value of its own type,
// and Lint asks for the description of each policy of a pipeline. The
// root imports this package; this package imports nothing of bulwark.
package lintinfo

import (
	"reflect"
	"sync"
	"time"
)

// Info is what a policy tells Lint of itself. Fields that do not apply to
// its kind are zero.
type Info struct {
	// Kind is the policy's kind, as its events name it: "breaker",
	// "retry", "hedge", "bulkhead", "adaptive", "throttler", "ratelimit",
	// "timeout", "fallback".
	Kind string

	// Timeout: the duration given to New; Dynamic when WithDurationFunc
	// may replace it per call; Abandon for WithAbandon.
	Timeout time.Duration
	Dynamic bool
	Abandon bool

	// Retry: the wait before the first retry as the backoff computes it
	// before jitter (capped by WithMaxDelay), and the shortest the jitter
	// can draw; DelayKnown is false with WithDelayFunc, whose waits are
	// the user's. MaxAttempts counts the first; MaxDuration is
	// WithMaxDuration's bound, 0 for none.
	FirstDelay, MinFirstDelay time.Duration
	DelayKnown                bool
	MaxAttempts               int
	MaxDuration               time.Duration

	// Fallback: Selective when WithHandleIf narrows the errors it handles.
	Selective bool
}

var describers sync.Map // reflect.Type of *T → func(any) Info

// Register makes describe the description of every *T. A package calls it
// once, from an init function.
func Register[T any](describe func(*T) Info) {
	describers.Store(reflect.TypeFor[*T](), func(p any) Info { return describe(p.(*T)) })
}

// Describe returns the description of p, and false if p's type registered
// none (a policy written outside bulwark).
func Describe(p any) (Info, bool) {
	if p == nil {
		return Info{}, false
	}
	f, ok := describers.Load(reflect.TypeOf(p))
	if !ok {
		return Info{}, false
	}
	return f.(func(any) Info)(p), true
}
