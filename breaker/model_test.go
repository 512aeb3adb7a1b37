package breaker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/clock"
	"github.com/stretchr/testify/require"
)

// The model-based test drives a Breaker and a small reference model of its
// state machine with the same random sequences of acquisitions, outcomes,
// time steps and manual transitions, and checks that they agree after
// every step. The Breaker runs on a fake clock, whose Advance fires timers
// in deadline order, as the model does.

var errIgnored = errors.New("ignored by configuration")

type refEvent struct {
	bucket        int64
	failure, slow bool
}

type refPermit struct {
	p     *Permit
	gen   int
	start time.Duration
}

// ref is the reference model.
type ref struct {
	c        config
	now      time.Duration
	state    State
	gen      int
	consec   int
	ring     []uint8 // count window: oldest first
	events   []refEvent
	reopens  int
	deadline time.Duration
	admitted int
	succ     int
	fail     int
}

func (m *ref) set(to State) {
	m.gen++
	m.state = to
	m.consec = 0
	m.ring, m.events = nil, nil
	switch to {
	case Open:
		d := m.c.openDuration
		if m.c.backoffFactor > 0 && m.reopens > 0 {
			f := float64(d) * math.Pow(m.c.backoffFactor, float64(m.reopens))
			if f >= float64(m.c.backoffMax) {
				d = m.c.backoffMax
			} else {
				d = time.Duration(f)
			}
		}
		m.reopens++
		m.deadline = m.now + d
	case HalfOpen:
		m.admitted, m.succ, m.fail = 0, 0, 0
		m.deadline = m.now + m.c.halfOpenWait
	default:
		m.reopens = 0
	}
}

func (m *ref) advance(d time.Duration) {
	end := m.now + d
	for (m.state == Open || m.state == HalfOpen) && m.deadline <= end {
		m.now = m.deadline
		if m.state == Open {
			m.set(HalfOpen)
		} else {
			m.set(Open)
		}
	}
	m.now = end
}

func (m *ref) acquire() bool {
	switch m.state {
	case Closed, Disabled:
		return true
	case HalfOpen:
		if m.admitted < m.c.probes {
			m.admitted++
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

func (m *ref) done(gen int, start time.Duration, kind int) {
	if gen != m.gen {
		return
	}
	failure, ignored := kind == 1, kind == 2
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
	slow := m.c.slowThreshold > 0 && m.now-start > m.c.slowThreshold
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

func runModelSequence(t *testing.T, seed uint64, steps int) {
	r := rand.New(rand.NewPCG(seed, seed))
	opts, desc := randomOptions(r)
	fake := clock.NewFake(time.Unix(0, 0))
	b := New(append(opts, withClock(fake))...)
	m := &ref{c: b.cfg}
	var held []refPermit
	ctx := context.Background()
	var trace []string
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d (rerun with BULWARK_MODEL_SEED=%d), config %s\nsteps: %v\n%s",
			seed, seed, desc, trace, fmt.Sprintf(format, args...))
	}
	for range steps {
		switch op := r.IntN(10); {
		case op < 4:
			p, err := b.Acquire(ctx)
			want := m.acquire()
			trace = append(trace, fmt.Sprintf("acquire=%v", err == nil))
			if (err == nil) != want {
				fail("acquire: breaker admitted=%v, model admitted=%v", err == nil, want)
			}
			if err == nil {
				held = append(held, refPermit{p: p, gen: m.gen, start: m.now})
			}
		case op < 8 && len(held) > 0:
			i := r.IntN(len(held))
			h := held[i]
			held = append(held[:i], held[i+1:]...)
			kind := r.IntN(3)
			if kind == 2 && r.IntN(2) == 0 {
				kind = 0 // ignored outcomes are rarer
			}
			err := []error{nil, errors.New("boom"), errIgnored}[kind]
			trace = append(trace, fmt.Sprintf("done(%d)", kind))
			h.p.Done(ctx, err)
			m.done(h.gen, h.start, kind)
		case op < 9:
			d := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 3 * time.Second, 5 * time.Second}[r.IntN(5)]
			trace = append(trace, "advance("+d.String()+")")
			fake.Advance(d)
			m.advance(d)
		default:
			switch r.IntN(6) {
			case 0:
				trace = append(trace, "isolate")
				b.Isolate()
				m.set(Isolated)
			case 1:
				trace = append(trace, "disable")
				b.Disable()
				m.set(Disabled)
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
