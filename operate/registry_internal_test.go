package operate

import (
	"runtime"
	"testing"
	"weak"

	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A policy outlives the registry that watched it: once the registry is
// collected the policy holds none of its rings, and reports to nothing.
func TestADroppedRegistryLetsGoOfItsPolicies(t *testing.T) {
	b := breaker.New()
	r := NewRegistry()
	require.NoError(t, r.Register("payments", b))
	ring := weak.Make(r.policies[0].events)
	r = nil
	testutil.Settle()
	assert.Nil(t, ring.Value(), "the breaker still holds the ring of a dropped registry")
	runtime.KeepAlive(b)
	_ = r
}
