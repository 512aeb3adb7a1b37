// Package clock is the source of time for bulwark's policies, so that
// time-dependent behaviour is tested deterministically.
//
// Production code uses Real, which is the time package itself and therefore
// also runs on the virtual clock of a testing/synctest bubble. Tests that
// step time by hand without goroutines (model-based tests of a state
// machine, say) use a Fake. Policies read the clock only where their
// configuration needs it: time.Now costs tens of nanoseconds on virtual
// machines.
package clock

import (
	"slices"
	"sync"
	"time"
)

// Clock reads the time and makes timers.
type Clock interface {
	Now() time.Time
	Since(t time.Time) time.Duration
	// NewTimer returns a timer that sends the time on its channel after d.
	NewTimer(d time.Duration) Timer
	// AfterFunc calls f on its own goroutine after d.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is the part of *time.Timer that policies use.
type Timer interface {
	// C is the channel the time is sent on; nil for AfterFunc timers.
	C() <-chan time.Time
	// Stop prevents the timer from firing and reports whether it was
	// pending.
	Stop() bool
	// Reset makes the timer fire after d and reports whether it was
	// pending.
	Reset(d time.Duration) bool
}

// Real is the time package.
var Real Clock = realClock{}

type realClock struct{}

func (realClock) Now() time.Time                  { return time.Now() }
func (realClock) Since(t time.Time) time.Duration { return time.Since(t) }
func (realClock) NewTimer(d time.Duration) Timer  { return realTimer{time.NewTimer(d)} }
func (realClock) AfterFunc(d time.Duration, f func()) Timer {
	return realTimer{time.AfterFunc(d, f)}
}

type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time        { return t.t.C }
func (t realTimer) Stop() bool                 { return t.t.Stop() }
func (t realTimer) Reset(d time.Duration) bool { return t.t.Reset(d) }

// Fake is a clock that moves only when told to. Its zero value is not
// usable; create one with NewFake. It is safe for concurrent use.
type Fake struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer // pending, in no particular order
}

// NewFake returns a Fake clock reading start.
func NewFake(start time.Time) *Fake { return &Fake{now: start} }

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Since returns the fake time elapsed since t.
func (f *Fake) Since(t time.Time) time.Duration { return f.Now().Sub(t) }

// NewTimer returns a timer that fires when the clock is advanced past d.
func (f *Fake) NewTimer(d time.Duration) Timer {
	t := &fakeTimer{clock: f, c: make(chan time.Time, 1)}
	t.Reset(d)
	return t
}

// AfterFunc returns a timer that calls fn, on the goroutine that advances
// the clock, when the clock is advanced past d.
func (f *Fake) AfterFunc(d time.Duration, fn func()) Timer {
	t := &fakeTimer{clock: f, fn: fn}
	t.Reset(d)
	return t
}

// Advance moves the clock forward by d, firing the timers that fall due in
// the order of their deadlines, each with the clock set to its deadline.
// AfterFunc functions run on the calling goroutine, without the clock's
// lock held, so they may use the clock.
func (f *Fake) Advance(d time.Duration) {
	if d < 0 {
		panic("clock: Fake.Advance: negative duration")
	}
	f.mu.Lock()
	end := f.now.Add(d)
	f.mu.Unlock()
	for {
		f.mu.Lock()
		i := f.nextDue(end)
		if i < 0 {
			f.now = end
			f.mu.Unlock()
			return
		}
		t := f.timers[i]
		f.timers = slices.Delete(f.timers, i, i+1)
		f.now = t.when
		f.mu.Unlock()
		if t.fn != nil {
			t.fn()
		} else {
			select {
			case t.c <- t.when:
			default:
			}
		}
	}
}

// Pending returns the number of timers that have not fired or been stopped.
func (f *Fake) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.timers)
}

// nextDue returns the index of the earliest timer due by end, or -1.
// It requires f.mu held.
func (f *Fake) nextDue(end time.Time) int {
	best := -1
	for i, t := range f.timers {
		if !t.when.After(end) && (best < 0 || t.when.Before(f.timers[best].when)) {
			best = i
		}
	}
	return best
}

type fakeTimer struct {
	clock *Fake
	c     chan time.Time
	fn    func()
	when  time.Time
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	f := t.clock
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.remove(t)
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	f := t.clock
	f.mu.Lock()
	defer f.mu.Unlock()
	pending := f.remove(t)
	t.when = f.now.Add(d)
	f.timers = append(f.timers, t)
	return pending
}

// remove drops t from the pending timers and reports whether it was there.
// It requires f.mu held.
func (f *Fake) remove(t *fakeTimer) bool {
	i := slices.Index(f.timers, t)
	if i < 0 {
		return false
	}
	f.timers = slices.Delete(f.timers, i, i+1)
	return true
}
