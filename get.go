package bulwark

import (
	"context"
	"sync"
)

// Get runs fn through p and returns its result. When p runs fn more than
// once (retry, hedge), the result of the first attempt that succeeded is
// kept, and results that arrive after Get has returned (from an attempt an
// abandoning timeout gave up on) are dropped, so concurrent attempts never
// race on the result.
//
// A policy that turns a failure into a success (a fallback) supplies the
// value the caller receives with [Supply]; a success with no value, from an
// attempt or from Supply, returns T's zero value and a nil error.
//
// Get allocates two small objects, the result cell and the closure around
// fn: as many as Execute with a closure that captures the caller's result
// variable, since any function handed through a Policy escapes to the heap.
func Get[T any](ctx context.Context, p Policy, fn func(context.Context) (T, error)) (T, error) {
	var zero T
	if fn == nil {
		return zero, ErrNilFunc
	}
	if ctx == nil {
		return zero, ErrNilContext
	}
	c := &resultCell[T]{Context: ctx}
	err := p.Execute(c, func(ctx context.Context) error {
		v, err := fn(ctx)
		if err == nil {
			c.set(v)
		}
		return err
	})
	v, ok := c.take()
	if err != nil || !ok {
		return zero, err
	}
	return v, nil
}

// Supply sets the result of the innermost call of Get[T] that ctx runs
// under, for the type T of v, and reports whether there was one. A
// fallback calls it to hand the caller its alternate value:
//
//	fallback.New(func(ctx context.Context, err error) error {
//		bulwark.Supply(ctx, cachedUser(id))
//		return nil
//	})
//
// The first value wins, supplied or returned by an attempt, and a value
// supplied after Get has returned is dropped. Get returns the value only
// if the call succeeds. Under Execute, where there is no Get, Supply does
// nothing and returns false: results there travel by closure capture.
func Supply[T any](ctx context.Context, v T) bool {
	c, ok := ctx.Value(cellKey[T]{}).(*resultCell[T])
	if ok {
		c.set(v)
	}
	return ok
}

// cellKey finds the result cell of a Get[T] in a context.
type cellKey[T any] struct{}

// resultCell holds the result of one Get. It is also the context the call
// runs under, so that Supply finds it without a context.WithValue (and its
// allocation): the context package recognises the parent's own cancelCtx
// through Value and starts no goroutine for contexts derived from it.
type resultCell[T any] struct {
	context.Context
	mu     sync.Mutex
	v      T
	ok     bool // v holds a result
	closed bool // Get has returned: later results are dropped
}

func (c *resultCell[T]) Value(key any) any {
	if _, ok := key.(cellKey[T]); ok {
		return c
	}
	return c.Context.Value(key)
}

func (c *resultCell[T]) set(v T) {
	c.mu.Lock()
	if !c.ok && !c.closed {
		c.v, c.ok = v, true
	}
	c.mu.Unlock()
}

func (c *resultCell[T]) take() (T, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return c.v, c.ok
}
