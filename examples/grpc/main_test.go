package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestGRPCExampleAccount(t *testing.T) {
	var out strings.Builder
	require.NoError(t, run(&out))
	want := []string{
		"check: SERVING after 2 retries",
		"tenant noisy, call 5: OK",
		"tenant noisy, call 6: ResourceExhausted (pushback: come back in about 1s)",
		"tenant quiet: OK",
		"broken, call 3: Internal (disk full)",
		"broken, call 4: Unavailable (refused by the open breaker)",
		"broken: the server saw 3 calls, 0 retries, breaker open",
		"watch: SERVING, streams in flight: 1",
		"second watch: Unavailable, bulkhead full: true",
		"watch cancelled: Canceled, streams in flight: 0",
	}
	lines := strings.Split(out.String(), "\n")
	for _, w := range want {
		assert.Contains(t, lines, w)
	}
}
