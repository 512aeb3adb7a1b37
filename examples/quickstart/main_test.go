package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestQuickstartAccount(t *testing.T) {
	var out strings.Builder
	require.NoError(t, run(&out))
	text := out.String()
	count := func(s string) int { return strings.Count(text, s) }
	assert.Equal(t, 5, count("answered by the service"), text)
	assert.Equal(t, 2, count("timeout fired after 200ms"), "requests 3 and 6 hang")
	assert.Equal(t, 9, count("fallback served the cached price"), "4 flaky failures and 5 while down")
	assert.Equal(t, 1, count("breaker closed -> open (consecutive_failures)"))
	assert.Equal(t, 3, count("breaker rejected the call"), "requests 11 to 13 are not sent")
	assert.Equal(t, 1, count("breaker open -> half_open (open_duration_elapsed)"))
	assert.Equal(t, 1, count("breaker half_open -> closed (probes_succeeded)"))
}
