package breaker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/clock"
	"github.com/stretchr/testify/require"
)

// The model-based test drives a Breaker and a small reference model of its
// state machine with the same random sequences of acquisitions, calls under
// Execute (which may take time, fail, panic), outcomes, time steps and
// manual transitions, and checks that they agree after every step. The
// Breaker runs on a fake clock, whose Advance fires timers in deadline
// order, as the model does.
//
// The model is written from the package documentation:
//   - open: rejects until the open duration, base·factor^n capped at the
//     limit for the nth reopen since the breaker last closed, has passed;
//     then half-open;
//   - half-open: admits the configured number of probes; closes on the
//     needed successes, reopens when they can no longer come, frees the
//     slot of an ignored probe; has no deadline of its own, but reopens
//     when a probe admitted by Acquire has not reported within the max
//     wait of its admission; a probe under Execute is never timed out;
//   - outcomes: nil and Permanent are successes, a local rejection and
//     what WithIgnoreIf matches are ignored, a panic is a failure that is
//     never slow, anything else a failure;
//   - Isolate and Disable of a breaker already in that state change
//     nothing; Reset always forgets what was recorded (results admitted
//     before it are dropped) but is a transition only from another state;
//   - a result admitted under a state that has since changed is dropped.

var errIgnored = errors.New("ignored by configuration")

// Outcome kinds of the model's calls.
const (
	kindSuccess = iota
	kindFailure
	kindIgnored   // matched by WithIgnoreIf
	kindPermanent // bulwark.Permanent: the dependency answered
	kindRejected  // another policy's local rejection
	kindPanic     // Execute only
)

var kindErrors = []error{
	kindSuccess:   nil,
	kindFailure:   errors.New("boom"),
	kindIgnored:   errIgnored,
	kindPermanent: bulwark.Permanent(errors.New("not found")),
	kindRejected:  fmt.Errorf("full: %w", bulwark.ErrRejected),
}

type refEvent struct {
	bucket        int64
	failure, slow bool
}

type refPermit struct {
	p     *Permit
	id    int
	gen   int
	start time.Duration
}

// ref is the reference model.
type ref struct {
	c        config
	now      time.Duration
	state    State
	gen      int
	changes  int // transitions reported
	consec   int
	ring     []uint8 // count window: oldest first
	events   []refEvent
	reopens  int
	deadline time.Duration // end of the open period
	admitted int
	succ     int
	fail     int
	watched  map[int]time.Duration // two-step probes of this half-open period: id -> max wait's end
}

func (m *ref) set(to State) {
	if m.state != to {
		m.changes++
	}
	m.gen++
	m.state = to
	m.consec = 0
	m.ring, m.events = nil, nil
	m.watched = nil
	switch to {
	case Open:
		d := m.c.openDuration
		for range m.reopens {
			if m.c.backoffFactor > 0 {
				d = min(time.Duration(float64(d)*m.c.backoffFactor), m.c.backoffMax)
			}
		}
		m.reopens++
		m.deadline = m.now + d
	case HalfOpen:
		m.admitted, m.succ, m.fail = 0, 0, 0
	default:
		m.reopens = 0
	}
}

// due returns the next time at which the state changes by itself.
func (m *ref) due() (time.Duration, bool) {
	switch m.state {
	case Open:
		return m.deadline, true
	case HalfOpen:
		first, ok := time.Duration(0), false
		for _, end := range m.watched {
			if !ok || end < first {
				first, ok = end, true
			}
		}
		return first, ok
	}
	return 0, false
}

func (m *ref) advance(d time.Duration) {
	end := m.now + d
	for {
		at, ok := m.due()
		if !ok || at > end {
			break
		}
		m.now = at
		if m.state == Open {
			m.set(HalfOpen)
		} else {
			m.set(Open)
		}
	}
	m.now = end
}

// acquire admits a call; id >= 0 identifies a two-step probe, whose max
// wait runs from now.
func (m *ref) acquire(id int) bool {
	switch m.state {
	case Closed, Disabled:
		return true
	case HalfOpen:
		if m.admitted < m.c.probes {
			m.admitted++
			if id >= 0 {
				if m.watched == nil {
					m.watched = map[int]time.Duration{}
				}
				m.watched[id] = m.now + m.c.halfOpenWait
			}
			return true
		}
	}
	return false
}

func (m *ref) counts() (calls, failures, slow int) {
	if m.c.countWindow > 0 {
		for _, v := range m.ring {
			calls++
			failures += int(v & bitFailure)
			slow += int(v&bitSlow) >> 1
		}
		return
	}
	width := m.c.timeSpan / time.Duration(m.c.timeBuckets)
	i := int64(m.now / width)
	for _, e := range m.events {
		if e.bucket > i-int64(m.c.timeBuckets) {
			calls++
			if e.failure {
				failures++
			}
			if e.slow {
				slow++
			}
		}
	}
	return
}

func (m *ref) windowed() bool { return m.c.countWindow > 0 || m.c.timeSpan > 0 }

func (m *ref) done(id, gen int, start time.Duration, kind int) {
	if gen != m.gen {
		return
	}
	delete(m.watched, id)
	failure := kind == kindFailure || kind == kindPanic
	ignored := kind == kindIgnored || kind == kindRejected
	if m.state == HalfOpen {
		switch {
		case ignored:
			m.admitted--
		case failure:
			m.fail++
			if m.fail > m.c.probes-m.c.probeNeed {
				m.set(Open)
			}
		default:
			m.succ++
			if m.succ >= m.c.probeNeed {
				m.set(Closed)
			}
		}
		return
	}
	if ignored {
		return
	}
	slow := m.c.slowThreshold > 0 && kind != kindPanic && m.now-start > m.c.slowThreshold
	if m.c.countWindow > 0 {
		var v uint8
		if failure {
			v |= bitFailure
		}
		if slow {
			v |= bitSlow
		}
		m.ring = append(m.ring, v)
		if len(m.ring) > m.c.countWindow {
			m.ring = m.ring[1:]
		}
	}
	if m.c.timeSpan > 0 {
		width := m.c.timeSpan / time.Duration(m.c.timeBuckets)
		m.events = append(m.events, refEvent{bucket: int64(m.now / width), failure: failure, slow: slow})
	}
	if failure {
		m.consec++
	} else {
		m.consec = 0
	}
	if m.state == Disabled || (!failure && !slow) {
		return
	}
	if m.c.consecutive > 0 && m.consec >= m.c.consecutive {
		m.set(Open)
		return
	}
	if m.windowed() {
		calls, failures, slowCalls := m.counts()
		if calls >= m.c.minCalls {
			if m.c.ratio > 0 && float64(failures)/float64(calls) >= m.c.ratio {
				m.set(Open)
				return
			}
			if m.c.slowRatio > 0 && float64(slowCalls)/float64(calls) >= m.c.slowRatio {
				m.set(Open)
			}
		}
	}
}

// randomOptions picks a configuration; it returns the options and a
// description for failure messages.
func randomOptions(r *rand.Rand) ([]Option, string) {
	var opts []Option
	var desc []string
	add := func(o Option, d string) { opts = append(opts, o); desc = append(desc, d) }

	ratioRule := r.IntN(2) == 0
	if !ratioRule || r.IntN(2) == 0 {
		n := 1 + r.IntN(4)
		add(WithConsecutiveFailures(n), fmt.Sprintf("consecutive=%d", n))
	}
	if ratioRule {
		ratio := []float64{0.3, 0.5, 2.0 / 3, 1}[r.IntN(4)]
		add(WithFailureRatio(ratio), fmt.Sprintf("ratio=%v", ratio))
		if r.IntN(3) == 0 {
			add(WithSlowCalls(2*time.Second, []float64{0.5, 1}[r.IntN(2)]), "slow")
		}
		if r.IntN(2) == 0 {
			n := 1 + r.IntN(6)
			mc := 1 + r.IntN(n)
			add(WithCountWindow(n), fmt.Sprintf("count=%d", n))
			add(WithMinimumCalls(mc), fmt.Sprintf("min=%d", mc))
		} else {
			span := []time.Duration{4 * time.Second, 10 * time.Second}[r.IntN(2)]
			buckets := []int{1, 2, 4}[r.IntN(3)]
			mc := 1 + r.IntN(5)
			add(WithTimeWindow(span, buckets), fmt.Sprintf("time=%v/%d", span, buckets))
			add(WithMinimumCalls(mc), fmt.Sprintf("min=%d", mc))
		}
	}
	add(WithOpenDuration(3*time.Second), "open=3s")
	if r.IntN(2) == 0 {
		add(WithOpenBackoff(2, 10*time.Second), "backoff=2x..10s")
	}
	k := 1 + r.IntN(3)
	need := 1 + r.IntN(k)
	add(WithHalfOpenProbes(k), fmt.Sprintf("probes=%d", k))
	add(WithHalfOpenSuccesses(need), fmt.Sprintf("need=%d", need))
	wait := []time.Duration{4 * time.Second, 7 * time.Second}[r.IntN(2)]
	add(WithHalfOpenMaxWait(wait), fmt.Sprintf("wait=%v", wait))
	add(WithIgnoreIf(func(err error) bool { return errors.Is(err, errIgnored) }), "")
	return opts, fmt.Sprint(desc)
}

func TestModel(t *testing.T) {
	seed := uint64(20261122)
	if s := os.Getenv("BULWARK_MODEL_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err)
		seed = v
	}
	const sequences, steps = 3000, 80
	for i := range sequences {
		runModelSequence(t, seed+uint64(i), steps)
		if t.Failed() {
			return
		}
	}
}

// randomKind picks a call's outcome; failures and successes are the
// common ones.
func randomKind(r *rand.Rand, panics bool) int {
	switch n := r.IntN(12); {
	case n < 4:
		return kindSuccess
	case n < 8:
		return kindFailure
	case n < 9:
		return kindIgnored
	case n < 10:
		return kindPermanent
	case n < 11:
		return kindRejected
	case panics:
		return kindPanic
	default:
		return kindFailure
	}
}

func runModelSequence(t *testing.T, seed uint64, steps int) {
	r := rand.New(rand.NewPCG(seed, seed))
	opts, desc := randomOptions(r)
	fake := clock.NewFake(time.Unix(0, 0))
	var changes int // only the test's goroutine reports: the fake clock fires timers on it
	b := New(append(opts, withClock(fake), WithObserver(func(_ context.Context, e bulwark.Event) {
		if e.Type == bulwark.EventStateChange {
			changes++
		}
	}))...)
	m := &ref{c: b.cfg}
	var held []refPermit
	ctx := context.Background()
	var trace []string
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d (rerun with BULWARK_MODEL_SEED=%d), config %s\nsteps: %v\n%s",
			seed, seed, desc, trace, fmt.Sprintf(format, args...))
	}
	durations := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 3 * time.Second, 5 * time.Second}
	for id := range steps {
		switch op := r.IntN(12); {
		case op < 4:
			p, err := b.Acquire(ctx)
			want := m.acquire(id)
			trace = append(trace, fmt.Sprintf("acquire#%d=%v", id, err == nil))
			if (err == nil) != want {
				fail("acquire: breaker admitted=%v, model admitted=%v", err == nil, want)
			}
			if err == nil {
				held = append(held, refPermit{p: p, id: id, gen: m.gen, start: m.now})
			}
		case op < 7 && len(held) > 0:
			i := r.IntN(len(held))
			h := held[i]
			held = append(held[:i], held[i+1:]...)
			kind := randomKind(r, false)
			trace = append(trace, fmt.Sprintf("done#%d(%d)", h.id, kind))
			h.p.Done(ctx, kindErrors[kind])
			m.done(h.id, h.gen, h.start, kind)
		case op < 9:
			// A call under Execute that takes d, during which time moves
			// on for the breaker and the model alike.
			kind := randomKind(r, true)
			var d time.Duration
			if r.IntN(2) == 0 {
				d = durations[r.IntN(len(durations))]
			}
			want := m.acquire(-1)
			gen, start := m.gen, m.now
			ran := false
			func() {
				defer func() {
					if p := recover(); p != nil && p != "model panic" {
						panic(p)
					}
				}()
				_ = b.Execute(ctx, func(context.Context) error {
					ran = true
					fake.Advance(d)
					m.advance(d)
					if kind == kindPanic {
						panic("model panic")
					}
					return kindErrors[kind]
				})
			}()
			trace = append(trace, fmt.Sprintf("execute(%d, %v)=%v", kind, d, ran))
			if ran != want {
				fail("execute: breaker admitted=%v, model admitted=%v", ran, want)
			}
			if ran {
				m.done(-1, gen, start, kind)
			}
		case op < 11:
			d := durations[r.IntN(len(durations))]
			trace = append(trace, "advance("+d.String()+")")
			fake.Advance(d)
			m.advance(d)
		default:
			switch r.IntN(6) {
			case 0:
				trace = append(trace, "isolate")
				b.Isolate()
				if m.state != Isolated {
					m.set(Isolated)
				}
			case 1:
				trace = append(trace, "disable")
				b.Disable()
				if m.state != Disabled {
					m.set(Disabled)
				}
			case 2:
				trace = append(trace, "reset")
				b.Reset()
				m.set(Closed)
			default:
				continue
			}
		}
		if got := b.State(); got != m.state {
			fail("state: breaker %v, model %v", got, m.state)
		}
		if changes != m.changes {
			fail("transitions reported: breaker %d, model %d", changes, m.changes)
		}
		s := b.Snapshot()
		if s.ConsecutiveFailures != m.consec {
			fail("consecutive failures: breaker %d, model %d", s.ConsecutiveFailures, m.consec)
		}
		if m.windowed() {
			calls, failures, slow := m.counts()
			if s.Calls != calls || s.Failures != failures || s.SlowCalls != slow {
				fail("window: breaker %d/%d/%d, model %d/%d/%d", s.Calls, s.Failures, s.SlowCalls, calls, failures, slow)
			}
		}
		if m.state == HalfOpen && (s.ProbesAdmitted != m.admitted || s.ProbeSuccesses != m.succ || s.ProbeFailures != m.fail) {
			fail("probes: breaker %d/%d/%d, model %d/%d/%d", s.ProbesAdmitted, s.ProbeSuccesses, s.ProbeFailures, m.admitted, m.succ, m.fail)
		}
		if m.state == Open && s.UntilHalfOpen != m.deadline-m.now {
			fail("until half-open: breaker %v, model %v", s.UntilHalfOpen, m.deadline-m.now)
		}
	}
}
