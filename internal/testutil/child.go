package testutil

import (
	"os"
	"os/exec"
	"regexp"
	"testing"
)

// childEnv names, in a child process RunInChild starts, the test it runs.
const childEnv = "BULWARK_TEST_CHILD"

// InChild reports whether the process is the child RunInChild started to
// run t: the test then does its work, and the child's result is t's.
func InChild(t testing.TB) bool { return os.Getenv(childEnv) == t.Name() }

// RunInChild runs t again, alone, in a child process, and fails t if the
// child fails. It is for what must happen in a process of its own, such as
// installing the global meter provider, which takes effect once and for
// every test after it.
func RunInChild(t testing.TB) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+t.Name())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the child process failed: %v\n%s", err, out)
	}
}
