package testutil

import (
	"errors"

	"github.com/bulwark-go/bulwark"
)

// ErrDep is the dependency's failure: a plain error (made by errors.New,
// as most are) that every policy counts as one. It is allocated once, so a
// test or a benchmark that returns it sees only the policy's allocations.
var ErrDep = errors.New("dependency failed")

// ErrRejected is a local rejection by a policy inside the one under test,
// as a full bulkhead or an open breaker returns: it matches
// bulwark.ErrRejected and is no failure of the dependency.
var ErrRejected error = rejection{}

type rejection struct{}

func (rejection) Error() string        { return "rejected" }
func (rejection) Is(target error) bool { return target == bulwark.ErrRejected }
