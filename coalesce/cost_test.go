package coalesce_test

import (
	"context"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/coalesce"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/stretchr/testify/assert"
)

// What a call costs when nobody shares it: the leader's call record,
// with its shared context, and the hiding of the leader's cancellation
// (two objects); with a cancellable context, the watch on it as well
// (context.AfterFunc: three more). A call without a key, or through the
// zero Coalesce, allocates nothing.
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
		{"leader, cancellable context", c, cancellable, 5},
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
