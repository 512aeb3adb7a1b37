package bulwark

import (
	"context"
	"errors"
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

// Detach returns n without its function: running it returns ErrNilFunc,
// but it reports in the same pipelines. A stage keeps it to report events
// that happen after the call that caused them (a timer moving a breaker to
// half-open) without keeping the caller's function alive.
func (n Next) Detach() Next { return Next{cur: n.cur} }

// Pipeline returns the name of the innermost named pipeline this stage runs
// in, or "" when it runs outside any named pipeline.
func (n Next) Pipeline() string {
	if s := n.scopeOf(); s != nil {
		return s.name
	}
	return ""
}

func (n Next) scopeOf() *scope {
	if n.cur == nil {
		return nil
	}
	return n.cur.scope
}

// ErrNilFunc is returned by Execute when the function to protect is nil.
var ErrNilFunc = errors.New("bulwark: Execute: fn is nil")

// ErrNilContext is returned by Execute when the context is nil.
var ErrNilContext = errors.New("bulwark: Execute: ctx is nil")

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
