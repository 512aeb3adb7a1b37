package coalesce_test

import (
	"context"
	"runtime"
	"testing"
	"testing/synctest"

	"github.com/bulwark-go/bulwark/coalesce"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/stretchr/testify/assert"
)

// leaderOutcome is how a leader's Execute ended.
type leaderOutcome struct {
	returned bool // Execute returned err
	err      error
	panicked bool // Execute panicked with value
	value    any
	exited   bool // the leader's goroutine exited (runtime.Goexit)
}

// lead runs fn as the leader of its key on a goroutine of its own, and
// sends how that ended.
func lead(c *coalesce.Coalesce, ctx context.Context, fn func(context.Context) error) <-chan leaderOutcome {
	out := make(chan leaderOutcome, 1)
	go func() {
		o := leaderOutcome{exited: true}
		defer func() { out <- o }()
		func() {
			defer func() { o.value = recover() }()
			o.err = c.Execute(ctx, fn)
			o.returned = true
		}()
		o.exited, o.panicked = false, !o.returned
	}()
	return out
}

// Under GODEBUG=panicnil=1 (a program that asks for Go's old behaviour),
// recover returns nil for panic(nil), as it does during a runtime.Goexit.
// The Coalesce tells the two apart by whether the call's goroutine goes
// on: panic(nil) is a panic, which reaches the leader as panic(nil) and
// each waiter as a *PanicError with a nil Value, never a success; a
// Goexit is still a Goexit.
func TestPanicNilUnderGODEBUGPanicnil(t *testing.T) {
	testutil.SetPanicnil(t)
	eachLeader(t, func(t *testing.T, base context.Context) {
		for _, x := range []struct {
			name string
			end  func()
		}{
			{"panic(nil)", func() { panic(nil) }},
			{"runtime.Goexit", runtime.Goexit},
		} {
			c := coalesce.New(byKey)
			g := newGate()
			leader := lead(c, base, func(ctx context.Context) error {
				_ = g.wait(ctx)
				x.end()
				return nil
			})
			synctest.Wait()
			waiter := make(chan error)
			go func() { waiter <- c.Execute(base, testutil.Nop) }()
			synctest.Wait()
			close(g.release)
			err, o := <-waiter, <-leader
			if x.name == "runtime.Goexit" {
				assert.Equal(t, leaderOutcome{exited: true}, o, x.name)
				assert.ErrorContains(t, err, "runtime.Goexit", x.name)
			} else {
				assert.Equal(t, leaderOutcome{panicked: true}, o, "%s reaches the leader", x.name)
				var pe *coalesce.PanicError
				if assert.ErrorAs(t, err, &pe, x.name) {
					assert.Nil(t, pe.Value)
					assert.Contains(t, string(pe.Stack), "coalesce_test")
				}
			}
			assert.Zero(t, c.Snapshot().InFlight, x.name)
		}
	})
}
