package operate_test

import (
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/operate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The zero Pipeline runs the protected function directly: it registers as
// a pipeline of no stages.
func TestRegisterTheZeroPipeline(t *testing.T) {
	r := operate.NewRegistry()
	require.NotPanics(t, func() { require.NoError(t, r.Register("empty", &bulwark.Pipeline{})) })
	assert.Error(t, r.Register("empty", bulwark.New()), "the name is taken")
}
