package bulwark_test

import (
	"fmt"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/timeout"
)

// Lint reads a pipeline once it is built (in a test, or at start-up) and
// says which orders cannot work. Here the per-attempt timeout is outside
// the retry, and the retry inside the breaker; the order of the second
// pipeline, the one the package doc shows, has nothing to report.
func ExampleLint() {
	p := bulwark.New(
		timeout.New(2*time.Second),
		timeout.New(300*time.Millisecond),
		breaker.New(),
		retry.New(retry.WithMaxAttempts(3)),
	)
	for _, f := range bulwark.Lint(p) {
		fmt.Printf("%s %v:\n  %s\n", f.Rule, f.Policies, f.What)
	}

	fixed := bulwark.New(
		timeout.New(2*time.Second),
		retry.New(retry.WithMaxAttempts(3)),
		breaker.New(),
		timeout.New(300*time.Millisecond),
	)
	fmt.Println(len(bulwark.Lint(fixed)), "findings")
	// Output:
	// timeout-per-attempt-outside-retry [0 1 3]:
	//   the timeout of 300ms (policy 1) is outside the retry (policy 3), inside the longer timeout of 2s (policy 0)
	// retry-inside-breaker [2 3]:
	//   the retry (policy 3) is inside the breaker (policy 2)
	// 0 findings
}
