package bulwarkgrpc

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// FuzzPushbackRoundTrip checks what a server writes against what a client
// reads: a hint written as grpc-retry-pushback-ms and read back is never
// shorter than the hint, so that a client that waits it does not come back
// early, and at most a millisecond longer (the rounding up), but for hints
// that saturate; a hint of 0 or less is "retry at once". The seeds are in
// testdata/fuzz/FuzzPushbackRoundTrip.
func FuzzPushbackRoundTrip(f *testing.F) {
	f.Fuzz(func(t *testing.T, ns int64) {
		d := time.Duration(ns)
		v := formatPushback(d)
		got, pb := parsePushback([]string{v})
		require.Equal(t, pushbackAfter, pb, "%q reads back as a delay", v)
		if d <= 0 {
			require.Zero(t, got)
			return
		}
		require.GreaterOrEqual(t, got, d, "%q must not be shorter than %v", v, d)
		if got != math.MaxInt64 {
			require.Less(t, got-d, time.Millisecond, "%q must be within a millisecond of %v", v, d)
		}
	})
}
