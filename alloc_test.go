//go:build !race

package bulwark_test

import (
	"context"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/stretchr/testify/assert"
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
