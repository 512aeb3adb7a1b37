package bulwark_test

import (
	"context"
	"testing"

	"github.com/bulwark-go/bulwark/internal/testutil"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// errDep is the shared test helper under the short name this package's
// tests use.
var errDep = testutil.ErrDep

// nop is testutil.Nop as a function of this package, not a variable, so
// that BenchmarkDirect's call of it inlines as it always has: the floor of
// the other benchmarks.
func nop(ctx context.Context) error { return testutil.Nop(ctx) }
