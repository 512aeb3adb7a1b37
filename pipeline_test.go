package bulwark_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/fallback"
	"github.com/bulwark-go/bulwark/internal/core"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tracer is a Stage that records when it is entered and left.
type tracer struct {
	name string
	log  *[]string
}

func (t tracer) Execute(ctx context.Context, fn func(context.Context) error) error {
	return bulwark.RunStage(ctx, t, fn)
}

func (t tracer) ExecuteStage(ctx context.Context, next bulwark.Next) error {
	*t.log = append(*t.log, "enter "+t.name)
	err := next.Run(ctx)
	*t.log = append(*t.log, "leave "+t.name)
	return err
}

// plainTracer is the same, implementing only bulwark.Policy.
type plainTracer tracer

func (t plainTracer) Execute(ctx context.Context, fn func(context.Context) error) error {
	*t.log = append(*t.log, "enter "+t.name)
	err := fn(ctx)
	*t.log = append(*t.log, "leave "+t.name)
	return err
}

func TestPipelineRunsPoliciesOutermostFirst(t *testing.T) {
	var log []string
	p := bulwark.New(tracer{"a", &log}, tracer{"b", &log}, tracer{"c", &log})
	err := p.Execute(context.Background(), func(context.Context) error {
		log = append(log, "fn")
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"enter a", "enter b", "enter c", "fn", "leave c", "leave b", "leave a"}, log)
	assert.Equal(t, 3, stages(p))
}

func TestNestedPipelinesAreSplicedInOrder(t *testing.T) {
	var log []string
	inner := bulwark.New(tracer{"b", &log}, tracer{"c", &log}).With(bulwark.WithName("inner"))
	p := bulwark.New(tracer{"a", &log}, inner, tracer{"d", &log})
	require.NoError(t, p.Execute(context.Background(), func(context.Context) error {
		log = append(log, "fn")
		return nil
	}))
	assert.Equal(t, []string{"enter a", "enter b", "enter c", "enter d", "fn", "leave d", "leave c", "leave b", "leave a"}, log)
	assert.Equal(t, 4, stages(p))
	assert.Equal(t, 2, stages(inner), "the inner pipeline still runs on its own")
}

func TestPlainPoliciesWorkInEveryPosition(t *testing.T) {
	for _, pos := range []int{0, 1, 2} {
		var log []string
		ps := []bulwark.Policy{tracer{"0", &log}, tracer{"1", &log}, tracer{"2", &log}}
		ps[pos] = plainTracer{name: ps[pos].(tracer).name, log: &log}
		p := bulwark.New(ps...)
		require.NoError(t, p.Execute(context.Background(), func(context.Context) error {
			log = append(log, "fn")
			return nil
		}))
		assert.Equal(t, []string{"enter 0", "enter 1", "enter 2", "fn", "leave 2", "leave 1", "leave 0"}, log, "plain policy at %d", pos)
	}
}

func TestEmptyPipelineCallsFunction(t *testing.T) {
	errBoom := errors.New("boom")
	for name, p := range map[string]*bulwark.Pipeline{"New()": bulwark.New(), "zero value": {}} {
		called := 0
		err := p.Execute(context.Background(), func(context.Context) error { called++; return errBoom })
		assert.ErrorIs(t, err, errBoom, name)
		assert.Equal(t, 1, called, name)
	}
}

func TestPipelinePassesContextThrough(t *testing.T) {
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "v")
	p := bulwark.New(fallback.New(func(context.Context, error) error { return nil }), plainTracer{name: "x", log: new([]string)})
	require.NoError(t, p.Execute(ctx, func(ctx context.Context) error {
		assert.Equal(t, "v", ctx.Value(key{}))
		return nil
	}))
}

func TestExecuteRejectsNilArguments(t *testing.T) {
	p := bulwark.New(fallback.New(func(context.Context, error) error { return nil }))
	//lint:ignore SA1012 a nil context is the point of the test
	assert.ErrorIs(t, p.Execute(nil, func(context.Context) error { return nil }), bulwark.ErrNilContext)
	assert.ErrorIs(t, p.Execute(context.Background(), nil), bulwark.ErrNilFunc)
	assert.ErrorIs(t, bulwark.Next{}.Run(context.Background()), bulwark.ErrNilFunc, "the zero Next")
}

func TestNewRejectsNilPolicies(t *testing.T) {
	var typedNil *fallback.Fallback
	ok := fallback.New(func(context.Context, error) error { return nil })
	assert.PanicsWithValue(t, "bulwark: New: policy 1 is nil", func() { bulwark.New(ok, nil) })
	assert.PanicsWithValue(t, "bulwark: New: policy 0 is nil", func() { bulwark.New(typedNil, ok) })
}

func TestOptionsRejectBadValues(t *testing.T) {
	assert.PanicsWithValue(t, "bulwark: WithName: name must not be empty", func() { bulwark.WithName("") })
	assert.PanicsWithValue(t, "bulwark: WithObserver: observer must not be nil", func() { bulwark.WithObserver(nil) })
	assert.PanicsWithValue(t, "bulwark: WithMeterProvider: provider must not be nil", func() { bulwark.WithMeterProvider(nil) })
	assert.PanicsWithValue(t, "bulwark: SlogObserver: logger must not be nil", func() { bulwark.SlogObserver(nil, 0) })
	assert.PanicsWithValue(t, "bulwark: reporter: kind must not be empty", func() { core.NewReporter("", "", nil) })
	assert.PanicsWithValue(t, "bulwark: reporter: observer 1 is nil", func() {
		core.NewReporter("k", "", nil, func(context.Context, bulwark.Event) {}, nil)
	})
}

func TestWithReturnsAConfiguredCopy(t *testing.T) {
	p := bulwark.New(fallback.New(func(context.Context, error) error { return nil }))
	q := p.With(bulwark.WithName("checkout"), nil)
	assert.Equal(t, "", p.Name())
	assert.Equal(t, "checkout", q.Name())
	assert.Equal(t, stages(p), stages(q))
}

func TestPanicPropagatesUnchangedThroughPipeline(t *testing.T) {
	type boom struct{ n int }
	var log []string
	p := bulwark.New(fallback.New(func(context.Context, error) error { return nil }), plainTracer{name: "x", log: &log})
	assert.PanicsWithValue(t, boom{7}, func() {
		_ = p.Execute(context.Background(), func(context.Context) error { panic(boom{7}) })
	})
}

func TestNextRunsOnManyGoroutines(t *testing.T) {
	// A stage may hand its Next to other goroutines (hedging) and keep it
	// after returning (an abandoned attempt): Next holds nothing per call.
	var calls [2]atomic.Int32
	fanout := stageFunc(func(ctx context.Context, next bulwark.Next) error {
		errs := make(chan error, 2)
		for range 2 {
			go func() { errs <- next.Run(ctx) }()
		}
		return errors.Join(<-errs, <-errs)
	})
	p := bulwark.New(fanout, fallback.New(func(context.Context, error) error { return nil }))
	for i := range calls {
		require.NoError(t, p.Execute(context.Background(), func(context.Context) error {
			calls[i].Add(1)
			return nil
		}))
	}
	assert.Equal(t, int32(2), calls[0].Load(), "each call's own function ran twice")
	assert.Equal(t, int32(2), calls[1].Load(), "each call's own function ran twice")
}

type stageFunc func(ctx context.Context, next bulwark.Next) error

func (f stageFunc) Execute(ctx context.Context, fn func(context.Context) error) error {
	return bulwark.RunStage(ctx, f, fn)
}
func (f stageFunc) ExecuteStage(ctx context.Context, next bulwark.Next) error { return f(ctx, next) }

func TestDetachKeepsThePipelineButNotTheFunction(t *testing.T) {
	var kept bulwark.Next
	keep := stageFunc(func(ctx context.Context, next bulwark.Next) error {
		kept = core.Detach(next)
		return next.Run(ctx)
	})
	var seen []bulwark.Event
	p := bulwark.New(keep).With(bulwark.WithName("checkout"),
		bulwark.WithObserver(func(_ context.Context, e bulwark.Event) { seen = append(seen, e) }))
	require.NoError(t, p.Execute(context.Background(), nop))
	kept.Report(context.Background(), bulwark.Event{Type: bulwark.EventStateChange, Policy: "keeper"})
	require.Len(t, seen, 1)
	assert.Equal(t, "checkout", seen[0].Pipeline, "a detached Next reports in the same pipeline")
	assert.ErrorIs(t, kept.Run(context.Background()), bulwark.ErrNilFunc)
}

// stages returns the number of stages a call through p passes, nested
// pipelines spliced in.
func stages(p *bulwark.Pipeline) int {
	s, _ := core.Stages(p)
	return len(s)
}
