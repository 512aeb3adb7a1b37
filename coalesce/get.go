package coalesce

import (
	"context"
	"sync"

	"github.com/bulwark-go/bulwark"
)

// Get runs fn through p, a Coalesce or a pipeline holding one, and returns
// its result; a caller that waits for the call in flight for its key
// receives that call's value. It is bulwark.Get, whose behaviour it keeps
// (a value handed over with bulwark.Supply by a fallback around the
// Coalesce is returned, results of abandoned attempts are dropped), with
// the value shared: the caller that runs the call keeps its value where
// the Coalesce finds it, and the Coalesce supplies it to each waiter.
//
// Callers of one key should all use Get with the same T: a waiter whose
// key's call was made by Execute or bulwark.Get, or by Get of another
// type, receives ErrNoValue; so does a waiter when a policy inside the
// Coalesce turned the call's failure into a success without a value (a
// fallback belongs around the Coalesce, where it serves every caller). A
// waiter that calls bulwark.Get instead receives the value when the call
// it waited for was made by Get of the same type, and T's zero value
// otherwise: prefer Get for every caller.
//
// Get allocates what bulwark.Get does and one more small object, the
// holder of the value, for every caller; the leader's call allocates too
// (see the package doc).
func Get[T any](ctx context.Context, p bulwark.Policy, fn func(context.Context) (T, error)) (T, error) {
	if fn == nil || ctx == nil {
		return bulwark.Get(ctx, p, fn)
	}
	h := &holder[T]{Context: ctx}
	return bulwark.Get(h, p, func(ctx context.Context) (T, error) {
		v, err := fn(ctx)
		if err == nil {
			h.set(v)
		}
		return v, err
	})
}

// holderKey finds a Get's holder in a context.
type holderKey struct{}

// sharer is a holder of any type, as the Coalesce sees it.
type sharer interface {
	// supply hands the holder's value to the innermost bulwark.Get of its
	// type in ctx (a waiter's), and reports whether there was a value and
	// such a Get.
	supply(ctx context.Context) bool
	// close drops the values set from now on: the call has returned.
	close()
}

// holder keeps the value of one Get's call where the Coalesce finds it. It
// is also the context the call runs under, so that no context.WithValue
// is needed to find it.
type holder[T any] struct {
	context.Context
	mu     sync.Mutex
	v      T
	ok     bool
	closed bool
}

func (h *holder[T]) Value(key any) any {
	if _, ok := key.(holderKey); ok {
		return h
	}
	return h.Context.Value(key)
}

// set keeps the first value: attempts inside the Coalesce (a hedge) may
// succeed at once.
func (h *holder[T]) set(v T) {
	h.mu.Lock()
	if !h.ok && !h.closed {
		h.v, h.ok = v, true
	}
	h.mu.Unlock()
}

func (h *holder[T]) get() (T, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.v, h.ok
}

func (h *holder[T]) close() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
}

func (h *holder[T]) supply(ctx context.Context) bool {
	v, ok := h.get()
	return ok && bulwark.Supply(ctx, v)
}
