package coalesce_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/bulwark-go/bulwark/coalesce"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/stretchr/testify/assert"
)

// sharedRound runs rounds of one shared call: the caller of round leads,
// and while its call runs, waiters workers join it and wait. The workers
// live across rounds, so that a round allocates only what the calls do.
type sharedRound struct {
	c       *coalesce.Coalesce
	ctx     context.Context
	waiters int
	start   chan struct{}
	done    chan struct{}
	quit    chan struct{}
	leadFn  func(context.Context) error
}

func newSharedRound(c *coalesce.Coalesce, ctx context.Context, waiters int) *sharedRound {
	r := &sharedRound{c: c, ctx: ctx, waiters: waiters,
		start: make(chan struct{}, waiters), done: make(chan struct{}, waiters), quit: make(chan struct{})}
	r.leadFn = r.lead
	for range waiters {
		go func() {
			for {
				select {
				case <-r.start:
					_ = c.Execute(ctx, testutil.Nop)
					r.done <- struct{}{}
				case <-r.quit:
					return
				}
			}
		}()
	}
	return r
}

func (r *sharedRound) lead(context.Context) error {
	for range r.waiters {
		r.start <- struct{}{}
	}
	for r.c.Status().Queued < r.waiters {
		runtime.Gosched()
	}
	return nil
}

func (r *sharedRound) run() {
	_ = r.c.Execute(r.ctx, r.leadFn)
	for range r.waiters {
		<-r.done
	}
}

func (r *sharedRound) stop() { close(r.quit) }

// A waiter under Execute allocates nothing: a call shared by 50 waiters
// allocates what one shared by a single waiter does (the leader's call
// and the channel the first waiter makes for all).
func TestAWaiterAllocatesNothing(t *testing.T) {
	ctx := withKey(context.Background(), "k")
	perRound := func(waiters int) float64 {
		r := newSharedRound(coalesce.New(byKey), ctx, waiters)
		defer r.stop()
		return testing.AllocsPerRun(20, r.run)
	}
	one, fifty := perRound(1), perRound(50)
	assert.Equal(t, float64(3), one, "the leader's 2, the first waiter's channel")
	assert.Equal(t, one, fifty)
}
