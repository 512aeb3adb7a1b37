package fallback_test

import (
	"context"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/bulwark-go/bulwark/fallback"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Under GODEBUG=panicnil=1 (a program that asks for Go's behaviour before
// 1.21) recover returns nil for panic(nil), as it does during a
// runtime.Goexit. WithRecover still sees a panic, never a success: the
// fallback function receives a *PanicError with a nil Value.
func TestRecoverTellsPanicNilFromSuccessUnderGODEBUGPanicnil(t *testing.T) {
	testutil.SetPanicnil(t)

	var r recorder
	f := fallback.New(r.fn, fallback.WithRecover())
	err := f.Execute(context.Background(), func(context.Context) error { panic(nil) })
	assert.NoError(t, err, "the fallback function's outcome")
	require.Equal(t, 1, r.calls, "panic(nil) ran the fallback function")
	var pe *fallback.PanicError
	require.ErrorAs(t, r.got, &pe)
	assert.Nil(t, pe.Value)
	assert.Contains(t, string(pe.Stack), "panicnil_test.go")
	assert.Equal(t, int64(1), f.Status().Failures)
}

// A runtime.Goexit in the protected function is no panic: it goes on
// through the Fallback, which does not run the fallback function, with
// panicnil=1 or without.
func TestRecoverLetsGoexitGoOn(t *testing.T) {
	for _, godebug := range []string{"", "panicnil=1"} {
		t.Run("GODEBUG="+godebug, func(t *testing.T) {
			if godebug != "" {
				t.Setenv("GODEBUG", strings.TrimPrefix(os.Getenv("GODEBUG")+","+godebug, ","))
			}
			var r recorder
			f := fallback.New(r.fn, fallback.WithRecover())
			returned := make(chan bool, 1)
			go func() {
				ok := false
				defer func() { returned <- ok }()
				_ = f.Execute(context.Background(), func(context.Context) error { runtime.Goexit(); return nil })
				ok = true
			}()
			assert.False(t, <-returned, "Execute returned after a runtime.Goexit")
			assert.Zero(t, r.calls)
		})
	}
}
