//go:build !race

package testutil

// Race reports whether the race detector is on: it makes objects larger,
// so byte counts are checked without it.
const Race = false
