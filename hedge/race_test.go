//go:build race

package hedge_test

// The race detector makes objects larger: byte counts are checked without it.
const raceEnabled = true
