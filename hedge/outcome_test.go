package hedge_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/hedge"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A rejection says nothing of the dependency: it is not hedged, and a
// rejected primary is returned at once.
func TestARejectedPrimaryIsNotHedged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := &attempts{took: []time.Duration{time.Millisecond, time.Millisecond}, errs: []error{testutil.ErrRejected, nil}}
		start := time.Now()
		err := hedge.New(hedge.WithDelay(100*time.Millisecond)).Execute(context.Background(), a.call)
		assert.Equal(t, testutil.ErrRejected, err)
		assert.Equal(t, int32(1), a.n.Load())
		assert.Equal(t, time.Millisecond, time.Since(start))
	})
}

// A rejected hedge neither launches the next one at once nor ends the
// call: the primary still runs and wins.
func TestARejectedHedgeLeavesThePrimaryRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var n atomic.Int32
		var thirdAt atomic.Int64
		err := hedge.New(hedge.WithDelay(100*time.Millisecond), hedge.WithMaxHedges(2)).Execute(context.Background(), func(ctx context.Context) error {
			switch n.Add(1) {
			case 1:
				time.Sleep(250 * time.Millisecond)
				return nil
			case 2:
				return testutil.ErrRejected
			default:
				thirdAt.Store(int64(time.Since(start)))
				<-ctx.Done()
				return ctx.Err()
			}
		})
		require.NoError(t, err)
		assert.Equal(t, 250*time.Millisecond, time.Since(start))
		assert.Equal(t, int32(3), n.Load())
		assert.Equal(t, 200*time.Millisecond, time.Duration(thirdAt.Load()), "the second hedge came on time, not at once")
	})
}

// When every attempt failed, the result joins the dependency's failures;
// rejections are left out of it when there is one, so that a policy outside
// (a retry, a breaker) sees a failure and not a rejection.
func TestRejectionsAreLeftOutOfAJoinedFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := &attempts{took: []time.Duration{200 * time.Millisecond, time.Millisecond}, errs: []error{testutil.ErrDep, testutil.ErrRejected}}
		err := hedge.New(hedge.WithDelay(100*time.Millisecond)).Execute(context.Background(), a.call)
		assert.ErrorIs(t, err, testutil.ErrDep)
		assert.NotErrorIs(t, err, bulwark.ErrRejected)

		a = &attempts{took: []time.Duration{200 * time.Millisecond, time.Millisecond}, errs: []error{testutil.ErrRejected, testutil.ErrRejected}}
		err = hedge.New(hedge.WithDelay(100*time.Millisecond)).Execute(context.Background(), a.call)
		assert.ErrorIs(t, err, bulwark.ErrRejected, "only rejections: they are the result")
	})
}

// The zero Hedge is New() with no options: one hedge after 100ms.
func TestZeroHedgeWorksAsNew(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var h hedge.Hedge
		assert.Equal(t, 100*time.Millisecond, h.Delay())
		a := &attempts{took: []time.Duration{time.Hour, 10 * time.Millisecond}}
		start := time.Now()
		require.NoError(t, h.Execute(context.Background(), a.call))
		assert.Equal(t, 110*time.Millisecond, time.Since(start))
		assert.Equal(t, int32(2), a.n.Load())

		var n atomic.Int32
		require.NoError(t, bulwark.New(&h).Execute(context.Background(), func(context.Context) error { n.Add(1); return nil }))
		assert.Equal(t, int32(1), n.Load(), "in a pipeline too")
	})
}
