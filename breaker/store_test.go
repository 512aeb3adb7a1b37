package breaker_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark/breaker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// memStore is a Store inside one process: it delivers every publish to
// every watcher of the name at once, and counts probes per shared
// opening. It shows what a breaker does with a store; redisstore's tests
// run the same against Redis.
type memStore struct {
	mu       sync.Mutex
	seq      uint64
	watchers map[string][]func(breaker.Transition)
	probes   map[uint64]int
	fail     bool // AcquireProbe cannot answer
	asked    int  // AcquireProbe calls
}

func (s *memStore) Publish(name string, t breaker.Transition) {
	s.mu.Lock()
	s.seq++
	t.Seq = s.seq
	ws := append([]func(breaker.Transition){}, s.watchers[name]...)
	s.mu.Unlock()
	for _, w := range ws {
		w(t)
	}
}

func (s *memStore) Watch(name string, apply func(breaker.Transition)) func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.watchers == nil {
		s.watchers = map[string][]func(breaker.Transition){}
	}
	s.watchers[name] = append(s.watchers[name], apply)
	return func() {}
}

func (s *memStore) AcquireProbe(_ context.Context, _ string, seq uint64, probes int, _ time.Duration) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked++
	if s.fail {
		return false, context.DeadlineExceeded
	}
	if s.probes == nil {
		s.probes = map[uint64]int{}
	}
	s.probes[seq]++
	return s.probes[seq] <= probes, nil
}

func TestWithStoreNeedsANameAndAStore(t *testing.T) {
	assert.PanicsWithValue(t, "bulwark/breaker: WithStore: store must not be nil", func() { breaker.WithStore(nil) })
	var nilStore *memStore
	assert.PanicsWithValue(t, "bulwark/breaker: WithStore: store must not be nil", func() { breaker.WithStore(nilStore) })
	assert.PanicsWithValue(t, "bulwark/breaker: WithStore: a shared breaker needs a name (WithName) to share its state under, got none",
		func() { breaker.New(breaker.WithStore(&memStore{})) })
}

func TestSharedBreakersOpenAndProbeTogether(t *testing.T) {
	st := &memStore{}
	newB := func() *breaker.Breaker {
		return breaker.New(breaker.WithName("inventory"), breaker.WithStore(st), breaker.WithOpenDuration(time.Hour))
	}
	a, b, c := newB(), newB(), newB()
	ctx := context.Background()
	for range 5 {
		_ = a.Execute(ctx, func(context.Context) error { return errDep })
	}
	require.Equal(t, breaker.Open, a.State())
	assert.Equal(t, breaker.Open, b.State(), "the fleet's opening reaches the others")
	assert.Equal(t, breaker.Open, c.State())
	assert.Greater(t, b.Snapshot().UntilHalfOpen, 59*time.Minute, "for the time the opening has left")

	// Reset acts on one instance; the fleet's half-open probes are counted together.
	for _, br := range []*breaker.Breaker{a, b, c} {
		br.Isolate()
		br.Reset()
	}
	st.Publish("inventory", breaker.Transition{State: breaker.Open, OpenFor: time.Millisecond})
	for _, br := range []*breaker.Breaker{a, b, c} {
		require.Eventually(t, func() bool { return br.State() == breaker.HalfOpen }, time.Second, time.Millisecond)
	}
	release := make(chan struct{})
	var probed sync.WaitGroup
	var admitted, rejected atomic.Int64
	for _, br := range []*breaker.Breaker{a, b, c} {
		probed.Add(1)
		go func() {
			defer probed.Done()
			err := br.Execute(ctx, func(context.Context) error {
				admitted.Add(1)
				<-release
				return nil
			})
			if errors.Is(err, breaker.ErrOpen) {
				rejected.Add(1)
			}
		}()
	}
	require.Eventually(t, func() bool { return rejected.Load() == 2 }, 5*time.Second, time.Millisecond,
		"two of the three instances are refused the fleet's one probe")
	close(release)
	probed.Wait()
	assert.EqualValues(t, 1, admitted.Load(), "one probe for the fleet")
	for _, br := range []*breaker.Breaker{a, b, c} {
		assert.Equal(t, breaker.Closed, br.State(), "the probe's success closes every instance")
	}
}

func TestSharedBreakerDecidesAloneWhenTheStoreCannotAnswer(t *testing.T) {
	st := &memStore{fail: true}
	a := breaker.New(breaker.WithName("x"), breaker.WithStore(st))
	st.Publish("x", breaker.Transition{State: breaker.Open, OpenFor: time.Millisecond})
	require.Eventually(t, func() bool { return a.State() == breaker.HalfOpen }, time.Second, time.Millisecond)
	require.NoError(t, a.Execute(context.Background(), nop), "the probe is admitted locally")
	assert.Equal(t, breaker.Closed, a.State())
}

func TestIsolatedBreakerIgnoresTheFleet(t *testing.T) {
	st := &memStore{}
	a := breaker.New(breaker.WithName("x"), breaker.WithStore(st))
	a.Disable()
	st.Publish("x", breaker.Transition{State: breaker.Open, OpenFor: time.Hour})
	assert.Equal(t, breaker.Disabled, a.State())
}

func TestClosedSuccessWithAStoreAllocatesNothing(t *testing.T) {
	br := breaker.New(breaker.WithName("x"), breaker.WithStore(&memStore{}))
	ctx := context.Background()
	assert.Zero(t, testing.AllocsPerRun(1000, func() { _ = br.Execute(ctx, nop) }))
}

func BenchmarkClosedSuccessWithStore(b *testing.B) {
	br := breaker.New(breaker.WithName("x"), breaker.WithStore(&memStore{}))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if br.Execute(ctx, nop) != nil {
			b.Fatal()
		}
	}
}

// TestAFleetRefusalIsRememberedForTheHalfOpenWait: once the store says
// the fleet's probes of an opening are taken, the half-open breaker
// rejects locally until the half-open wait has passed (when the fleet's
// count of the opening expires), instead of asking the store again on
// every call.
func TestAFleetRefusalIsRememberedForTheHalfOpenWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &memStore{probes: map[uint64]int{1: 1}} // the one probe of opening 1 is another instance's
		b := breaker.New(breaker.WithName("x"), breaker.WithStore(st), breaker.WithOpenDuration(time.Second))
		st.Publish("x", breaker.Transition{State: breaker.Open, OpenFor: time.Millisecond})
		time.Sleep(2 * time.Millisecond)
		require.Equal(t, breaker.HalfOpen, b.State())
		ctx := context.Background()
		for range 1000 {
			require.ErrorIs(t, b.Execute(ctx, nop), breaker.ErrOpen)
		}
		assert.Equal(t, 1, st.asked, "one request, then local rejections")
		time.Sleep(time.Second) // the half-open wait: the fleet's count of the opening expires
		st.mu.Lock()
		delete(st.probes, 1)
		st.mu.Unlock()
		require.NoError(t, b.Execute(ctx, nop), "asked again, and granted")
		assert.Equal(t, 2, st.asked)
		assert.Equal(t, breaker.Closed, b.State())
	})
}
