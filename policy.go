package bulwark

import (
	"context"
)

// Policy protects a call. Implementations are safe for concurrent use: a
// policy is built once and shared by every call and every goroutine.
//
// Execute runs fn, perhaps several times (retry, hedge), perhaps not at all
// (an open breaker, a full bulkhead), and returns fn's outcome or the
// policy's own error. A panic in fn propagates to the caller of Execute
// unchanged, after the policy has released what it holds.
type Policy interface {
	Execute(ctx context.Context, fn func(context.Context) error) error
}

// Stage is the allocation-free form of a Policy. Every policy in bulwark
// implements it; a Pipeline runs a Stage by handing it the rest of the
// pipeline as a Next value instead of wrapping that rest in a new closure.
//
// The obvious pipeline wraps the protected function in one closure per
// layer on every call; each closure escapes to the heap. bulwark instead
// links the policies into a chain of nodes once, when the pipeline is built,
// and every built-in policy implements [Stage] beside [Policy]: its
// ExecuteStage receives the rest of the pipeline as a [Next], a two-word
// value (the policy's node and the protected function) that it passes by
// value and runs with [Next.Run]. No per-call object exists, so nothing is
// pooled and nothing can be recycled under a goroutine that still uses it:
// a hedge may run a Next on several goroutines, and an abandoning timeout
// may leave one running after the call returns. A layer costs one
// interface call, about 3-4 ns, and a pipeline of built-in policies whose
// success path does nothing allocates nothing. The protected function is
// the caller's: like any function handed through an interface, a closure
// that captures variables escapes to the heap, and that allocation (one or
// two small objects, whatever the pipeline's length) is the caller's.
//
// A policy from outside bulwark that implements only Policy works in any
// position. As the innermost policy it receives the protected function
// itself and costs nothing more; anywhere else it receives the rest of the
// pipeline as a method value, which costs one small allocation (24 bytes)
// per call. Implementing [Stage] removes it.
//
// Policies written outside bulwark may implement Stage too, to run in a
// pipeline without allocating. ExecuteStage must call next.Run to reach the
// protected call (zero, one or several times, from any goroutine) and must
// not return before every call of next.Run it waits for has returned.
// A Next may be kept and run after ExecuteStage returns (an abandoned
// attempt): nothing in it is recycled.
type Stage interface {
	Policy
	ExecuteStage(ctx context.Context, next Next) error
}

// Next is the rest of a pipeline as one of its stages sees it: the stages
// after it and, at the end, the protected function. It is a small value that
// is passed and copied freely; its zero value runs nothing and returns
// ErrNilFunc.
type Next struct {
	cur *node // the stage that was handed this Next
	fn  func(context.Context) error
}

// node is one stage of a built pipeline. Nodes are linked once, when the
// pipeline is built, and never change.
type node struct {
	stage Stage
	scope *scope
	next  *node
}

// terminal ends every chain: its stage calls the protected function.
var terminal = &node{stage: callFn{}}

// direct is the node of a stage run on its own, outside any pipeline.
var direct = &node{next: terminal}

// Run runs the rest of the pipeline with ctx.
func (n Next) Run(ctx context.Context) error {
	if n.cur == nil {
		n.cur = direct
	}
	n.cur = n.cur.next
	return n.cur.stage.ExecuteStage(ctx, n)
}

// callFn is the stage of the terminal node.
type callFn struct{}

func (callFn) Execute(ctx context.Context, fn func(context.Context) error) error {
	return RunStage(ctx, callFn{}, fn)
}

func (callFn) ExecuteStage(ctx context.Context, next Next) error {
	if next.fn == nil {
		return ErrNilFunc
	}
	return next.fn(ctx)
}

func (n Next) scopeOf() *scope {
	if n.cur == nil {
		return nil
	}
	return n.cur.scope
}

// RunStage runs s alone around fn after checking the call's arguments. A
// Stage implements Policy.Execute with it:
//
//	func (t *T) Execute(ctx context.Context, fn func(context.Context) error) error {
//		return bulwark.RunStage(ctx, t, fn)
//	}
func RunStage(ctx context.Context, s Stage, fn func(context.Context) error) error {
	if ctx == nil {
		return ErrNilContext
	}
	if fn == nil {
		return ErrNilFunc
	}
	return s.ExecuteStage(ctx, Next{cur: direct, fn: fn})
}

// policyStage adapts a Policy that is not a Stage. Unless it is the
// innermost stage, each call allocates the closure that hands the rest of
// the pipeline to the policy as a plain function.
type policyStage struct{ p Policy }

func (s policyStage) Execute(ctx context.Context, fn func(context.Context) error) error {
	return s.p.Execute(ctx, fn)
}

func (s policyStage) ExecuteStage(ctx context.Context, next Next) error {
	if next.cur == nil || next.cur.next == terminal {
		return s.p.Execute(ctx, next.fn)
	}
	return s.p.Execute(ctx, next.Run)
}
