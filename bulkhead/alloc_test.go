package bulkhead_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/stretchr/testify/assert"
)

// The success path of every kind allocates nothing, alone and as a stage
// of a pipeline, with or without the processors' caches of permits.
func TestSuccessPathsAllocateNothing(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	ctx := context.Background()
	for name, p := range map[string]bulwark.Policy{
		"Bulkhead":         bulkhead.New(8),
		"Bulkhead, cached": bulkhead.New(cachedLimit),
		"Adaptive":         bulkhead.NewAdaptive(bulkhead.Vegas()),
	} {
		pipe := bulwark.New(p)
		for _, q := range []bulwark.Policy{p, pipe} {
			assert.Zero(t, testing.AllocsPerRun(1000, func() { _ = q.Execute(ctx, nop) }), name)
		}
	}
}
