package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The example stops by itself when its time is up, with every goroutine
// and the server gone (goleak checks), as CI's `go run` needs.
func TestRunStopsWhenItsTimeIsUp(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var out strings.Builder
	require.NoError(t, run(ctx, "127.0.0.1:0", &out))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 2, out.String())
	assert.Regexp(t, `^dashboard: http://127\.0\.0\.1:\d+/debug/bulwark/$`, lines[0])
	assert.Regexp(t, `^requests: \d+ succeeded, \d+ failed$`, lines[1])
}
