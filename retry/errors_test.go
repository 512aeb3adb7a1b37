package retry_test

import (
	"errors"
	"go/token"
	"reflect"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/stretchr/testify/assert"
)

// ErrExhausted has the shape of every bulwark sentinel: a comparable
// value of an unexported struct type, so that a copy compares equal and
// no pointer is shared. It is no rejection: the dependency was asked.
func TestErrExhaustedHasTheSentinelShape(t *testing.T) {
	typ := reflect.TypeOf(retry.ErrExhausted)
	assert.Equal(t, reflect.Struct, typ.Kind())
	assert.True(t, typ.Comparable())
	assert.NotEmpty(t, typ.Name())
	assert.False(t, token.IsExported(typ.Name()), "%v is exported", typ)
	assert.Equal(t, "bulwark/retry: retries exhausted", retry.ErrExhausted.Error())
	assert.NotErrorIs(t, retry.ErrExhausted, bulwark.ErrRejected)

	err := error(&retry.ExhaustedError{Attempts: 2, Reason: retry.ReasonMaxAttempts, Err: testutil.ErrDep})
	assert.ErrorIs(t, err, retry.ErrExhausted)
	assert.ErrorIs(t, err, testutil.ErrDep)
	assert.NotErrorIs(t, err, bulwark.ErrRejected)
	assert.False(t, errors.Is(testutil.ErrDep, retry.ErrExhausted))
}
