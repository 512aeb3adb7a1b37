package bulwarkgrpc

import (
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzParsePushback checks the pushback parser against its specification
// (gRFC A6, as grpc-go reads it): one value that strconv.Atoi accepts and
// that is not negative is a delay in milliseconds, saturating; anything
// else stops retries. The seeds are in testdata/fuzz/FuzzParsePushback.
func FuzzParsePushback(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		d, pb := parsePushback([]string{s})
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			require.Equal(t, pushbackStop, pb, "%q", s)
			require.Zero(t, d)
			return
		}
		require.Equal(t, pushbackAfter, pb, "%q", s)
		require.GreaterOrEqual(t, d, time.Duration(0))
		if int64(n) > math.MaxInt64/int64(time.Millisecond) {
			require.Equal(t, time.Duration(math.MaxInt64), d, "saturates")
			return
		}
		require.Equal(t, time.Duration(n)*time.Millisecond, d)
		require.Equal(t, strconv.Itoa(n), formatPushback(d), "what the server writes reads back the same")

		_, pb = parsePushback([]string{s, s})
		require.Equal(t, pushbackStop, pb, "two values stop retries")
	})
}

func TestParsePushbackNone(t *testing.T) {
	d, pb := parsePushback(nil)
	assert.Equal(t, pushbackNone, pb)
	assert.Zero(t, d)
}

func TestFormatPushbackRoundsUp(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second:                 "0",
		0:                            "0",
		time.Nanosecond:              "1",
		time.Millisecond:             "1",
		time.Millisecond + 1:         "2",
		1500 * time.Microsecond:      "2",
		time.Hour:                    "3600000",
		time.Duration(math.MaxInt64): "9223372036855",
	} {
		assert.Equal(t, want, formatPushback(d), "%v", d)
		got, pb := parsePushback([]string{want})
		assert.Equal(t, pushbackAfter, pb)
		assert.GreaterOrEqual(t, got, d, "a client that waits the pushback does not come back early")
	}
}
