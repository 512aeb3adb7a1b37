package timeout_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/bulwark-go/bulwark/timeout"
	"github.com/stretchr/testify/assert"
)

func waitDone(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

// With nothing listening (no SDK, no recording span, no observer), a
// Timeout allocates what context.WithDeadline does and nothing more: on
// success, and when its deadline fires, where the event is not even built.
// When the caller's deadline comes first it allocates nothing.
func TestATimeoutAllocatesOnlyItsContextWhenNothingListens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		withDeadline := func(d time.Duration, fn func(context.Context) error) float64 {
			return testing.AllocsPerRun(100, func() {
				c, cancel := context.WithDeadline(ctx, time.Now().Add(d))
				_ = fn(c)
				cancel()
			})
		}
		tm := timeout.New(time.Millisecond)
		for name, p := range map[string]bulwark.Policy{"alone": tm, "in a pipeline": bulwark.New(tm)} {
			assert.Equal(t, withDeadline(time.Millisecond, testutil.Nop),
				testing.AllocsPerRun(100, func() { _ = p.Execute(ctx, testutil.Nop) }), "%s: success", name)
			assert.Equal(t, withDeadline(time.Millisecond, waitDone),
				testing.AllocsPerRun(100, func() { _ = p.Execute(ctx, waitDone) }), "%s: timed out", name)
		}
		early, cancel := context.WithTimeout(ctx, time.Microsecond)
		defer cancel()
		assert.Zero(t, testing.AllocsPerRun(100, func() { _ = tm.Execute(early, testutil.Nop) }), "the caller's deadline first")
	})
}
