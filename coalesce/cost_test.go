package coalesce_test

import (
	"context"
	"runtime/debug"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/coalesce"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// What a call costs when nobody shares it: the leader's call record,
// with its shared context, and the hiding of the leader's cancellation
// (two objects); with a context that can end, the call runs apart from
// the leader, which costs two more (the goroutine's closure and the
// channel the leader waits on). A call without a key, or through the zero
// Coalesce, allocates nothing.
func TestWhatALeaderAllocates(t *testing.T) {
	c := coalesce.New(byKey)
	ctx := withKey(context.Background(), "k")
	cancellable, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, x := range []struct {
		name string
		p    bulwark.Policy
		ctx  context.Context
		want float64
	}{
		{"leader", c, ctx, 2},
		{"leader, cancellable context", c, cancellable, 4},
		{"leader in a pipeline", bulwark.New(c), ctx, 2},
		{"no key", c, context.Background(), 0},
		{"zero Coalesce", new(coalesce.Coalesce), ctx, 0},
	} {
		assert.Equal(t, x.want, testing.AllocsPerRun(1000, func() { _ = x.p.Execute(x.ctx, testutil.Nop) }), x.name)
	}
	load := func(context.Context) (int, error) { return 1, nil }
	bulwarkGet := testing.AllocsPerRun(1000, func() { _, _ = bulwark.Get(ctx, c, load) })
	get := testing.AllocsPerRun(1000, func() { _, _ = coalesce.Get(ctx, c, load) })
	assert.Equal(t, float64(4), bulwarkGet, "bulwark.Get: its cell and closure, and the leader's 2")
	assert.Equal(t, bulwarkGet+2, get, "coalesce.Get: the holder and its closure besides")
}

// A leader whose context cannot end runs the call on its own goroutine
// (no goroutine is started); one whose context can end runs it on a
// goroutine of its own, so that it can leave.
func TestWhereTheCallRuns(t *testing.T) {
	c := coalesce.New(byKey)
	ctx := withKey(context.Background(), "k")
	cancellable, cancel := context.WithCancel(ctx)
	defer cancel()
	var stack string
	fn := func(context.Context) error { stack = string(debug.Stack()); return nil }
	require.NoError(t, c.Execute(ctx, fn))
	assert.Contains(t, stack, "TestWhereTheCallRuns(", "on the leader's goroutine")
	require.NoError(t, c.Execute(cancellable, fn))
	assert.NotContains(t, stack, "TestWhereTheCallRuns(", "apart")
	assert.Contains(t, stack, "runApart")
}
