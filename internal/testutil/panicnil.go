package testutil

import (
	"os"
	"strings"
	"testing"
)

// SetPanicnil sets GODEBUG=panicnil=1 for t (a program that asks for Go's
// behaviour before 1.21, where recover returns nil for panic(nil), as it
// does during a runtime.Goexit), keeping the rest of GODEBUG, and fails t
// if the setting is not in effect.
func SetPanicnil(t testing.TB) {
	t.Helper()
	t.Setenv("GODEBUG", strings.TrimPrefix(os.Getenv("GODEBUG")+",panicnil=1", ","))
	if v := Recovered(func() { panic(nil) }); v != nil {
		t.Fatalf("GODEBUG=panicnil=1 is not in effect: recover returned %v", v)
	}
}

// Ending is how a call ended: it returned (with Err), it panicked (with
// Value), or its goroutine exited (runtime.Goexit).
type Ending struct {
	Returned, Panicked, Exited bool
	Value                      any
	Err                        error
}

// EndOf runs f on a goroutine of its own, so that a Goexit ends only that
// goroutine, and says how f ended. It tells panic(nil) from a Goexit under
// panicnil=1 too: after a panic the goroutine goes on, after a Goexit it
// does not.
func EndOf(f func() error) Ending {
	out := make(chan Ending, 1)
	go func() {
		e := Ending{Exited: true}
		defer func() { out <- e }()
		func() {
			defer func() {
				if !e.Returned {
					e.Value = recover()
				}
			}()
			e.Err = f()
			e.Returned = true
		}()
		e.Exited, e.Panicked = false, !e.Returned
	}()
	return <-out
}
