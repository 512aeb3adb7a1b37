package timeout_test

import (
	"go/token"
	"reflect"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/timeout"
	"github.com/stretchr/testify/assert"
)

// The sentinels have the shape of every bulwark sentinel: a comparable
// value of an unexported struct type. Neither is a rejection: a timeout is
// the dependency being slow, and a zero Timeout is a mistake in the
// program, not a refusal under load.
func TestSentinelsHaveOneShape(t *testing.T) {
	for _, err := range []error{timeout.ErrTimeout, timeout.ErrZeroValue} {
		typ := reflect.TypeOf(err)
		assert.Equal(t, reflect.Struct, typ.Kind(), "%v", err)
		assert.True(t, typ.Comparable(), "%v", err)
		assert.NotEmpty(t, typ.Name(), "%v", err)
		assert.False(t, token.IsExported(typ.Name()), "%v is exported", typ)
		assert.NotErrorIs(t, err, bulwark.ErrRejected, "%v", err)
	}
	assert.NotErrorIs(t, timeout.ErrZeroValue, timeout.ErrTimeout)
	assert.NotErrorIs(t, timeout.ErrTimeout, timeout.ErrZeroValue)
}
