package timeout_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Under GODEBUG=panicnil=1 recover returns nil for panic(nil), as it does
// for a runtime.Goexit: an abandoning timeout still tells them apart, and
// passes the panic on to the caller.
func TestAbandoningTellsPanicNilFromGoexit(t *testing.T) {
	t.Setenv("GODEBUG", "panicnil=1")
	to := timeout.New(time.Hour, timeout.WithAbandon())
	panicked := true
	func() {
		defer func() { _ = recover() }()
		_ = to.Execute(context.Background(), func(context.Context) error { panic(nil) })
		panicked = false
	}()
	assert.True(t, panicked, "panic(nil) became a return")

	err := to.Execute(context.Background(), func(context.Context) error { runtime.Goexit(); return nil })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "runtime.Goexit")
}
