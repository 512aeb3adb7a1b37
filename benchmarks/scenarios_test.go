package benchmarks

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	btimeout "github.com/bulwark-go/bulwark/timeout"
	"github.com/failsafe-go/failsafe-go/timeout"
	"github.com/stretchr/testify/assert"
)

// BenchmarkDirect is the baseline: the protected call with nothing around it.
func BenchmarkDirect(b *testing.B) {
	b.Run("direct", func(b *testing.B) { bench(b, direct, nop, false) })
}

// BenchmarkPipeline: n pass-through policies (fallbacks) on the success path.
func BenchmarkPipeline(b *testing.B) {
	for _, n := range []int{1, 2, 5, 10} {
		b.Run("policies="+strconv.Itoa(n), func(b *testing.B) {
			b.Run("bulwark", func(b *testing.B) { bench(b, bulwarkPipeline(n), nop, false) })
			b.Run("failsafe-go", func(b *testing.B) { bench(b, failsafePipeline(n), nop, false) })
		})
	}
}

func BenchmarkPipelineParallel(b *testing.B) {
	b.Run("policies=5", func(b *testing.B) {
		b.Run("bulwark", func(b *testing.B) { benchParallel(b, bulwarkPipeline(5), nop, false) })
		b.Run("failsafe-go", func(b *testing.B) { benchParallel(b, failsafePipeline(5), nop, false) })
	})
}

// BenchmarkTimeout: a timeout on the success path.
func BenchmarkTimeout(b *testing.B) {
	b.Run("context.WithTimeout", func(b *testing.B) { bench(b, withTimeout(time.Second), nop, false) })
	b.Run("bulwark", func(b *testing.B) { bench(b, bulwarkTimeout(time.Second), nop, false) })
	b.Run("failsafe-go", func(b *testing.B) { bench(b, failsafeTimeout(time.Second), nop, false) })
}

func BenchmarkTimeoutParallel(b *testing.B) {
	b.Run("context.WithTimeout", func(b *testing.B) { benchParallel(b, withTimeout(time.Second), nop, false) })
	b.Run("bulwark", func(b *testing.B) { benchParallel(b, bulwarkTimeout(time.Second), nop, false) })
	b.Run("failsafe-go", func(b *testing.B) { benchParallel(b, failsafeTimeout(time.Second), nop, false) })
}

// BenchmarkFallback: a fallback on the success path and on the path where
// it replaces a failure.
func BenchmarkFallback(b *testing.B) {
	b.Run("success", func(b *testing.B) {
		b.Run("bulwark", func(b *testing.B) { bench(b, bulwarkFallback(), nop, false) })
		b.Run("failsafe-go", func(b *testing.B) { bench(b, failsafeFallback(), nop, false) })
	})
	b.Run("fallback", func(b *testing.B) {
		b.Run("bulwark", func(b *testing.B) { bench(b, bulwarkFallback(), failing, false) })
		b.Run("failsafe-go", func(b *testing.B) { bench(b, failsafeFallback(), failing, false) })
	})
}

func BenchmarkFallbackParallel(b *testing.B) {
	b.Run("bulwark", func(b *testing.B) { benchParallel(b, bulwarkFallback(), nop, false) })
	b.Run("failsafe-go", func(b *testing.B) { benchParallel(b, failsafeFallback(), nop, false) })
}

// TestHarnessesDoWhatTheBenchmarksClaim checks that each peer's harness
// protects the call as the benchmark says, so that no figure measures a
// harness that skips the work.
func TestHarnessesDoWhatTheBenchmarksClaim(t *testing.T) {
	ctx := context.Background()
	waitDone := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }

	for name, run := range map[string]runner{
		"bulwark":             bulwarkTimeout(time.Millisecond),
		"failsafe-go":         failsafeTimeout(time.Millisecond),
		"context.WithTimeout": withTimeout(time.Millisecond),
	} {
		assert.NoError(t, run(ctx, nop), name)
		err := run(ctx, waitDone)
		assert.True(t, errors.Is(err, btimeout.ErrTimeout) || errors.Is(err, timeout.ErrExceeded) ||
			errors.Is(err, context.DeadlineExceeded), "%s: %v", name, err)
	}
	for name, run := range map[string]runner{
		"bulwark":     bulwarkFallback(),
		"failsafe-go": failsafeFallback(),
		"bulwark x5":  bulwarkPipeline(5),
		"failsafe x5": failsafePipeline(5),
	} {
		assert.NoError(t, run(ctx, nop), name)
		assert.NoError(t, run(ctx, failing), "%s replaces the failure", name)
	}
}
