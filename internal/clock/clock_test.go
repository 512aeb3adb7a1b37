package clock_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark/internal/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestFakeMovesOnlyWhenAdvanced(t *testing.T) {
	f := clock.NewFake(epoch)
	assert.Equal(t, epoch, f.Now())
	f.Advance(1500 * time.Millisecond)
	assert.Equal(t, epoch.Add(1500*time.Millisecond), f.Now())
	assert.Equal(t, 1500*time.Millisecond, f.Since(epoch))
	assert.Panics(t, func() { f.Advance(-1) })
}

func TestFakeFiresTimersInDeadlineOrderAtTheirDeadlines(t *testing.T) {
	f := clock.NewFake(epoch)
	var fired []time.Duration
	for _, d := range []time.Duration{3 * time.Second, time.Second, 2 * time.Second} {
		f.AfterFunc(d, func() { fired = append(fired, f.Since(epoch)) })
	}
	late := f.NewTimer(10 * time.Second)
	f.Advance(5 * time.Second)
	assert.Equal(t, []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}, fired)
	assert.Equal(t, 1, f.Pending())
	select {
	case <-late.C():
		t.Fatal("a timer fired before its deadline")
	default:
	}
	f.Advance(5 * time.Second)
	require.Len(t, late.C(), 1)
	assert.Equal(t, epoch.Add(10*time.Second), <-late.C())
}

func TestFakeTimerStopAndReset(t *testing.T) {
	f := clock.NewFake(epoch)
	calls := 0
	tm := f.AfterFunc(time.Second, func() { calls++ })
	assert.True(t, tm.Stop())
	assert.False(t, tm.Stop(), "already stopped")
	f.Advance(time.Hour)
	assert.Zero(t, calls)

	assert.False(t, tm.Reset(time.Second), "was not pending")
	assert.True(t, tm.Reset(2*time.Second), "was pending")
	f.Advance(time.Second)
	assert.Zero(t, calls)
	f.Advance(time.Second)
	assert.Equal(t, 1, calls)
	assert.Nil(t, tm.C())
}

func TestAfterFuncMayUseTheClock(t *testing.T) {
	f := clock.NewFake(epoch)
	var chained bool
	f.AfterFunc(time.Second, func() {
		f.AfterFunc(time.Second, func() { chained = true })
	})
	f.Advance(2 * time.Second)
	assert.True(t, chained, "a timer set by a firing timer fires within the same Advance")
}

func TestRealIsTheTimePackage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := clock.Real.Now()
		tm := clock.Real.NewTimer(time.Second)
		<-tm.C()
		assert.Equal(t, time.Second, clock.Real.Since(start))
		done := make(chan struct{})
		clock.Real.AfterFunc(time.Second, func() { close(done) })
		<-done
		assert.Equal(t, 2*time.Second, clock.Real.Since(start))
		tm = clock.Real.NewTimer(time.Second)
		assert.True(t, tm.Reset(time.Minute))
		assert.True(t, tm.Stop())
	})
}
