package bulwark_test

import (
	"testing"

	"github.com/bulwark-go/bulwark/internal/testutil"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The shared test helpers, under the short names this package's tests use.
var (
	errDep = testutil.ErrDep
	nop    = testutil.Nop
)
