package hedge_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/budget"
	"github.com/bulwark-go/bulwark/hedge"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A hedge that wins and a primary cancelled because of it: nothing failed,
// so the token bucket stays full.
func TestHedgingCallsThatSucceedDoNotDrainATokenBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := budget.NewToken(10, 0.1)
		h := hedge.New(hedge.WithDelay(100*time.Millisecond), hedge.WithBudget(b))
		for range 20 {
			a := &attempts{took: []time.Duration{time.Hour, 10 * time.Millisecond}}
			require.NoError(t, h.Execute(context.Background(), a.call))
			require.Equal(t, int32(2), a.n.Load())
		}
		assert.Equal(t, 10.0, b.Tokens())
	})
}

// A primary that wins and a hedge cancelled because of it: the same.
func TestALosingHedgeIsNotAFailedAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := budget.NewToken(10, 0.1)
		h := hedge.New(hedge.WithDelay(100*time.Millisecond), hedge.WithBudget(b))
		for range 20 {
			a := &attempts{took: []time.Duration{150 * time.Millisecond, time.Hour}}
			require.NoError(t, h.Execute(context.Background(), a.call))
		}
		assert.Equal(t, 10.0, b.Tokens())
	})
}

// Failed attempts still take tokens: each failed attempt takes one.
func TestFailedHedgesTakeTokens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := budget.NewToken(10, 0.1)
		h := hedge.New(hedge.WithDelay(100*time.Millisecond), hedge.WithBudget(b))
		a := &attempts{took: []time.Duration{time.Millisecond, time.Millisecond}, errs: []error{testutil.ErrDep, testutil.ErrDep}}
		require.ErrorIs(t, h.Execute(context.Background(), a.call), testutil.ErrDep)
		assert.Equal(t, 8.0, b.Tokens())
	})
}

// sharedBudgetExtras runs 2000 calls that always fail through p and
// returns the attempts made beyond one per call.
func sharedBudgetExtras(t *testing.T, p bulwark.Policy) int {
	var n atomic.Int32
	for range 2000 {
		err := p.Execute(context.Background(), func(context.Context) error { n.Add(1); return testutil.ErrDep })
		require.ErrorIs(t, err, testutil.ErrDep)
	}
	return int(n.Load()) - 2000
}

// One budget shared by a retry and a hedge in one pipeline: each call is
// one request for it, so a 10% budget allows about 200 extra attempts over
// 2000 calls, in either order.
func TestABudgetSharedByRetryAndHedgeCountsACallOnce(t *testing.T) {
	for _, order := range []string{"retry outside", "hedge outside"} {
		t.Run(order, func(t *testing.T) {
			b := budget.NewRatio(0.1, 0)
			r := retry.New(retry.WithDelay(0), retry.WithMaxAttempts(3), retry.WithBudget(b))
			h := hedge.New(hedge.WithDelay(time.Hour), hedge.WithMaxHedges(2), hedge.WithBudget(b))
			p := bulwark.New(r, h)
			if order == "hedge outside" {
				p = bulwark.New(h, r)
			}
			extras := sharedBudgetExtras(t, p)
			t.Logf("%s: %d extra attempts", order, extras)
			assert.InDelta(t, 200, extras, 2)
		})
	}
}

// rendezvousBudget allows every hedge, but its first TryRetry returns only
// once a second one has begun: a hedge that held its call's lock while
// asking would never let the second begin.
type rendezvousBudget struct {
	n             atomic.Int32
	first, second chan struct{}
}

func (b *rendezvousBudget) RecordRequest()     {}
func (b *rendezvousBudget) RecordAttempt(bool) {}
func (b *rendezvousBudget) TryRetry() bool {
	if b.n.Add(1) == 1 {
		close(b.first)
		<-b.second
	} else if b.n.Load() == 2 {
		close(b.second)
	}
	return true
}

// The budget is the user's code: it is called without the call's lock, so
// that an attempt finishing meanwhile is not blocked. With the lock held
// the primary's failure below waits for the lock while the first TryRetry
// waits for the second, which that failure asks for: a deadlock.
func TestTheBudgetIsCalledWithoutTheCallsLock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &rendezvousBudget{first: make(chan struct{}), second: make(chan struct{})}
		h := hedge.New(hedge.WithDelay(100*time.Millisecond), hedge.WithMaxHedges(2), hedge.WithBudget(b))
		var calls atomic.Int32
		err := h.Execute(context.Background(), func(ctx context.Context) error {
			if calls.Add(1) == 1 {
				<-b.first // the first hedge is being asked for
				return testutil.ErrDep
			}
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, int32(2), b.n.Load(), "both hedges were asked for, the second while the first was")
	})
}
