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
	line := func(prefix string) string {
		for _, l := range strings.Split(text, "\n") {
			if strings.HasPrefix(l, prefix+" ") {
				return l
			}
		}
		t.Fatalf("no line for %s in:\n%s", prefix, text)
		return ""
	}
	for _, req := range []string{"request 1", "request 2", "request 6", "request 8", "request 13"} {
		assert.Contains(t, line(req), "answered by the service")
	}
	assert.Contains(t, line("request 3"), "timeout fired after 200ms; retry 2; retry 3")
	assert.Contains(t, line("request 4"), "timeout fired after 200ms; retry 2")
	assert.Contains(t, line("request 5"), "retry 2; timeout fired after 200ms; retry 3")
	assert.Contains(t, line("request 7"), "retry 2")
	for _, req := range []string{"request 3", "request 4", "request 5", "request 7"} {
		assert.Contains(t, line(req), "price 12.50", "%s: retries reached the service", req)
	}
	assert.Contains(t, line("request 9"),
		"retry 2; retry 3; breaker closed -> open (consecutive_failures); retry gave up (max_attempts); fallback served the cached price")
	for _, req := range []string{"request 10", "request 11"} {
		assert.Regexp(t, `breaker rejected the call \(probing in [0-9]+ms\); fallback served the cached price`, line(req))
	}
	assert.Contains(t, line("request 12"), "breaker open -> half_open (open_duration_elapsed); breaker half_open -> closed (probes_succeeded)")
	assert.Equal(t, 3, strings.Count(text, "12.00 (cached)"))
}
