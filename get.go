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
// Get allocates two small objects, the result cell and the closure around
// fn: as many as Execute with a closure that captures the caller's result
// variable, since any function handed through a Policy escapes to the heap.
func Get[T any](ctx context.Context, p Policy, fn func(context.Context) (T, error)) (T, error) {
	var zero T
	if fn == nil {
		return zero, ErrNilFunc
	}
	c := &resultCell[T]{}
	err := p.Execute(ctx, func(ctx context.Context) error {
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

type resultCell[T any] struct {
	mu     sync.Mutex
	v      T
	ok     bool // v holds a result
	closed bool // Get has returned: later results are dropped
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
