package throttle_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	errDep        = errors.New("dependency failed")
	errOverloaded = bulwark.WithRetryAfter(errors.New("503 overloaded"), time.Second)
)

func nop(context.Context) error { return nil }

func overloaded(context.Context) error { return errOverloaded }
