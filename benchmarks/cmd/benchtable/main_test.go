package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestTableOfMediansAndRatios(t *testing.T) {
	in := `goos: linux
BenchmarkFallback/success/bulwark-2   100  10.0 ns/op  0 B/op  0 allocs/op
BenchmarkFallback/success/bulwark-2   100  30.0 ns/op  0 B/op  0 allocs/op
BenchmarkFallback/success/bulwark-2   100  12.0 ns/op  0 B/op  0 allocs/op
BenchmarkFallback/success/failsafe-go-2  100  700 ns/op  624 B/op  16 allocs/op
BenchmarkFallback/success/failsafe-go-2  100  500 ns/op  624 B/op  16 allocs/op
BenchmarkDirect/direct-2  100  3.0 ns/op  0 B/op  0 allocs/op
PASS
`
	var out strings.Builder
	require.NoError(t, run(strings.NewReader(in), &out))
	assert.Equal(t, `| benchmark | peer | ns/op | B/op | allocs/op | time vs bulwark |
|---|---|--:|--:|--:|--:|
| Fallback/success | bulwark | 12 | 0 | 0 |  |
| Fallback/success | failsafe-go | 600 | 624 | 16 | 50.0× |
| Direct | direct | 3 | 0 | 0 |  |
`, out.String())
}

func TestNoResultsIsAnError(t *testing.T) {
	assert.Error(t, run(strings.NewReader("PASS\n"), &strings.Builder{}))
}
