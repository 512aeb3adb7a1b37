package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The program, in a bubble of virtual time: every call is answered before
// its deadline (run fails otherwise), and the account shows each policy at
// work on the injected faults.
func TestEveryCallIsAnsweredWithinItsDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out strings.Builder
		require.NoError(t, run(&out))
		text := out.String()
		t.Log("\n" + text)
		lines := regexp.MustCompile(`(?m)^call +\d+ `).FindAllString(text, -1)
		assert.Len(t, lines, calls)
		for _, want := range []string{
			"chaos: error; retry 2",                  // retry gets past an injected error
			"delay; attempt timeout after 50ms",      // a timeout cuts an injected delay
			"breaker closed -> open",                 // the breaker opens on a run of failures
			"breaker rejected; fallback",             // and the fallback answers for it
			"breaker half_open -> closed",            // it closes once a probe gets through
			"retry gave up (max_attempts); fallback", // the fallback answers when all attempts failed
		} {
			assert.Contains(t, text, want)
		}
		assert.Contains(t, text, "Every call was answered before its 300ms deadline")
		m := regexp.MustCompile(`Chaos injected (\d+) errors and (\d+) delays`).FindStringSubmatch(text)
		require.Len(t, m, 3)
		errs, _ := strconv.Atoi(m[1])
		delays, _ := strconv.Atoi(m[2])
		assert.Positive(t, errs)
		assert.Positive(t, delays)
	})
}
