//go:build !race

package bulwark_test

import (
	"context"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/fallback"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSuccessPathDoesNotAllocate(t *testing.T) {
	ctx := context.Background()
	cases := map[string]*bulwark.Pipeline{
		"five fallbacks":         bulwark.New(fallbacks(5)...),
		"nested":                 bulwark.New(bulwark.New(fallbacks(2)...).With(bulwark.WithName("in")), bulwark.New(fallbacks(3)...)),
		"plain policy innermost": bulwark.New(append(fallbacks(4), plainPolicy{})...),
	}
	for name, p := range cases {
		allocs := testing.AllocsPerRun(1000, func() { _ = p.Execute(ctx, nop) })
		assert.Zero(t, allocs, name)
	}
	plainOuter := bulwark.New(append([]bulwark.Policy{plainPolicy{}}, fallbacks(4)...)...)
	assert.Equal(t, 1.0, testing.AllocsPerRun(1000, func() { _ = plainOuter.Execute(ctx, nop) }),
		"a plain policy that is not innermost costs the one documented allocation")
}

// readmePipeline is the pipeline of the README's first example.
func readmePipeline(price *string) *bulwark.Pipeline {
	return bulwark.New(
		fallback.New(func(ctx context.Context, err error) error {
			*price = "cached"
			return nil
		}),
		timeout.New(time.Second),
		retry.New(retry.WithMaxAttempts(3)),
		breaker.New(breaker.WithConsecutiveFailures(5)),
		timeout.New(200*time.Millisecond),
	).With(bulwark.WithName("prices"))
}

// The README says the success path of its pipeline allocates only what
// context.WithDeadline allocates for its two timeouts.
func TestReadmePipelineAllocatesOnlyItsDeadlines(t *testing.T) {
	ctx := context.Background()
	var price string
	p := readmePipeline(&price)
	deadlines := testing.AllocsPerRun(1000, func() {
		outer, cancelOuter := context.WithDeadline(ctx, time.Now().Add(time.Second))
		inner, cancelInner := context.WithDeadline(outer, time.Now().Add(200*time.Millisecond))
		_ = nop(inner)
		cancelInner()
		cancelOuter()
	})
	pipeline := testing.AllocsPerRun(1000, func() { _ = p.Execute(ctx, nop) })
	require.NotZero(t, deadlines)
	assert.Equal(t, deadlines, pipeline, "allocations per successful call")
	t.Logf("README pipeline: %v allocations per successful call, those of its two deadlines", pipeline)
}
