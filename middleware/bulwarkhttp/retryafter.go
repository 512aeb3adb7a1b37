package bulwarkhttp

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

// parseRetryAfter reads a Retry-After field value (RFC 9110, section
// 10.2.3): delay-seconds (one or more digits) or an HTTP-date, in any of
// the three forms http.ParseTime accepts. It returns the wait from now and
// true, or 0 and false for a value that is neither (a negative or
// fractional number, garbage). Delays saturate at the longest Duration
// instead of wrapping around to a short or negative one; a date in the
// past is a wait of 0.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = trimOWS(v)
	if v == "" {
		return 0, false
	}
	if isDigits(v) {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n > uint64(math.MaxInt64/int64(time.Second)) {
			return math.MaxInt64, true // only out of range can fail here
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true // Sub saturates
}

// retryAfterSeconds formats a wait as delay-seconds, rounded up so that a
// client that waits what it is told is not early.
func retryAfterSeconds(d time.Duration) string {
	if d <= 0 {
		return "0"
	}
	s := d / time.Second
	if d%time.Second != 0 {
		s++
	}
	return strconv.FormatInt(int64(s), 10)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// trimOWS removes the optional whitespace (spaces and tabs) HTTP allows
// around a field value.
func trimOWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}
