package breaker

import (
	"context"
	"errors"
	"math"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var errFailed = errors.New("failed")

func failing(context.Context) error    { return errFailed }
func succeeding(context.Context) error { return nil }

// lateClock is a Fake whose AfterFunc timers fire only when fire is
// called, as the timers of a loaded machine run late.
type lateClock struct {
	*clock.Fake
	mu   sync.Mutex
	held []func()
}

func (c *lateClock) AfterFunc(_ time.Duration, f func()) clock.Timer {
	c.mu.Lock()
	c.held = append(c.held, f)
	c.mu.Unlock()
	return stoppedTimer{}
}

type stoppedTimer struct{}

func (stoppedTimer) C() <-chan time.Time      { return nil }
func (stoppedTimer) Stop() bool               { return false }
func (stoppedTimer) Reset(time.Duration) bool { return false }

func TestHintIsTrueWhenTheTimerRunsLate(t *testing.T) {
	c := &lateClock{Fake: clock.NewFake(time.Unix(0, 0))}
	b := New(WithConsecutiveFailures(1), WithOpenDuration(time.Second), withClock(c))
	_ = b.Execute(context.Background(), failing)
	c.Advance(400 * time.Millisecond)
	err := b.Execute(context.Background(), succeeding)
	require.ErrorIs(t, err, ErrOpen)
	d, ok := bulwark.RetryAfter(err)
	require.True(t, ok)
	c.Advance(d) // the timer has not run
	require.NoError(t, b.Execute(context.Background(), succeeding), "the hint said the breaker would admit a probe now")
	assert.Equal(t, Closed, b.State())
}

func TestHalfOpenArmsNoTimerUntilATwoStepProbeIsAdmitted(t *testing.T) {
	fake := clock.NewFake(time.Unix(0, 0))
	b := New(WithConsecutiveFailures(1), WithOpenDuration(time.Second), WithHalfOpenProbes(2), withClock(fake))
	_ = b.Execute(context.Background(), failing)
	assert.Equal(t, 1, fake.Pending(), "the open period's timer")
	fake.Advance(time.Second)
	require.Equal(t, HalfOpen, b.State())
	assert.Zero(t, fake.Pending(), "half-open with no probe admitted")

	require.NoError(t, b.Execute(context.Background(), func(context.Context) error {
		assert.Zero(t, fake.Pending(), "a probe under Execute is never timed out")
		return nil
	}))
	p, err := b.Acquire(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, fake.Pending(), "a two-step probe's max wait")
	p.Done(context.Background(), errFailed)
	assert.Equal(t, Open, b.State())
	assert.Equal(t, 1, fake.Pending(), "only the new open period's timer")
}

func TestOpenDurationSaturates(t *testing.T) {
	b := New(WithOpenDuration(time.Hour), WithOpenBackoff(1e6, math.MaxInt64), WithOpenJitter(0.5))
	b.mu.Lock()
	defer b.mu.Unlock()
	for n := range 80 {
		b.reopens = n
		for range 20 {
			d := b.openDurationLocked()
			require.Positive(t, d, "reopen %d", n)
			if n >= 2 { // the limit, jittered by ±50%
				require.GreaterOrEqual(t, d, time.Duration(math.MaxInt64/2), "reopen %d", n)
			}
		}
	}
}

// An open breaker is kept alive by its pending timer only: once the timer
// has fired, a dropped breaker (half-open, with no timer) is collected.
func TestDroppedBreakerIsCollectedOnceItsTimerFired(t *testing.T) {
	fake := clock.NewFake(time.Unix(0, 0))
	collected := make(chan struct{})
	func() {
		b := New(WithConsecutiveFailures(1), WithOpenDuration(time.Second), withClock(fake))
		_ = b.Execute(context.Background(), failing)
		runtime.AddCleanup(b, func(ch chan struct{}) { close(ch) }, collected)
	}()
	fake.Advance(time.Second)
	require.Zero(t, fake.Pending())
	for range 20 {
		runtime.GC()
		select {
		case <-collected:
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatal("a half-open breaker that nothing refers to was not collected")
}

// countingClock counts the reads of a Fake.
type countingClock struct {
	*clock.Fake
	reads int
}

func (c *countingClock) Now() time.Time                  { c.reads++; return c.Fake.Now() }
func (c *countingClock) Since(t time.Time) time.Duration { c.reads++; return c.Fake.Since(t) }

func TestClockReads(t *testing.T) {
	c := &countingClock{Fake: clock.NewFake(time.Unix(0, 0))}
	b := New(WithOpenDuration(time.Hour), withClock(c))
	ctx := context.Background()
	c.reads = 0
	for range 10 {
		require.NoError(t, b.Execute(ctx, succeeding))
	}
	assert.Zero(t, c.reads, "the closed success path of the default rule reads no clock")
	for range 5 {
		_ = b.Execute(ctx, failing)
	}
	require.Equal(t, Open, b.State())
	c.reads = 0
	_ = b.Execute(ctx, succeeding)
	assert.Equal(t, 1, c.reads, "a rejection reads the clock once")
}
