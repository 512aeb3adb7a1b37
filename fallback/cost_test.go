package fallback_test

import (
	"context"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/fallback"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/stretchr/testify/assert"
)

// With nothing listening (no SDK, no recording span, no observer), a
// Fallback allocates nothing, on its own or in a pipeline: not on success,
// and not when it falls back, where the event is not even built.
func TestAFallbackAllocatesNothingWhenNothingListens(t *testing.T) {
	f := fallback.New(func(context.Context, error) error { return nil })
	ctx := context.Background()
	for name, p := range map[string]bulwark.Policy{"alone": f, "in a pipeline": bulwark.New(f)} {
		assert.Zero(t, testing.AllocsPerRun(1000, func() { _ = p.Execute(ctx, testutil.Nop) }), "%s: success", name)
		assert.Zero(t, testing.AllocsPerRun(1000, func() { _ = p.Execute(ctx, testutil.Fail) }), "%s: falling back", name)
	}
}
