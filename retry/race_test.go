//go:build race

package retry_test

// The race detector makes objects larger: byte counts are checked without it.
const raceEnabled = true
