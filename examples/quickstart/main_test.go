package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestQuickstartAnswersEveryRequest(t *testing.T) {
	var out strings.Builder
	require.NoError(t, run(&out))
	lines := strings.Split(out.String(), "\n")
	var served, cached, timedOut int
	for _, l := range lines {
		switch {
		case strings.Contains(l, "answered by the service"):
			served++
		case strings.Contains(l, "fallback served the cached price"):
			cached++
			if strings.Contains(l, "timeout fired after 200ms") {
				timedOut++
			}
		}
	}
	assert.Equal(t, 4, served, out.String())
	assert.Equal(t, 4, cached, "requests 3, 4, 6 and 8 fail")
	assert.Equal(t, 2, timedOut, "requests 3 and 6 hang")
}
