package redislimit_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/redistest"
	"github.com/bulwark-go/bulwark/ratelimit/redislimit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"
)

// load runs 4 instances (each its own client and limiter) × 8 goroutines
// against one key for d, each goroutine making at most maxCalls calls,
// and returns the calls admitted, the calls made and the time it took.
func load(t *testing.T, s *redistest.Server, d time.Duration, maxCalls int, limit rate.Limit, burst int, opts ...redislimit.Option) (admitted, calls int64, elapsed time.Duration) {
	t.Helper()
	var (
		lims     []*redislimit.Limiter
		degraded atomic.Int64
	)
	watch := redislimit.WithObserver(func(_ context.Context, e bulwark.Event) {
		if e.Type == redislimit.EventDegraded {
			degraded.Add(1)
		}
	})
	// A timeout far above any round trip of a loaded machine: these tests
	// measure the shared bucket, not the fail mode.
	opts = append([]redislimit.Option{redislimit.WithTimeout(5 * time.Second)}, append(opts, watch)...)
	for range 4 {
		lims = append(lims, redislimit.New(s.Client(t), limit, burst, opts...))
	}
	ctx := context.Background()
	for _, l := range lims { // connect and load the script before the clock starts
		_, err := l.AllowN(ctx, "warm", 0)
		require.NoError(t, err)
	}
	var (
		ok, all atomic.Int64
		wg      sync.WaitGroup
	)
	start := time.Now()
	end := start.Add(d)
	for _, l := range lims {
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < maxCalls && time.Now().Before(end); i++ {
					all.Add(1)
					if l.Execute(ctx, nop) == nil {
						ok.Add(1)
					} else {
						// A client that was told to come back later does
						// not spin: the load stays above the limit without
						// starving redis-server of the machine's two cores.
						time.Sleep(100 * time.Microsecond)
					}
				}
			}()
		}
	}
	wg.Wait()
	elapsed = time.Since(start)
	require.Zero(t, degraded.Load(), "Redis answered throughout: every decision was global")
	return ok.Load(), all.Load(), elapsed
}

// TestAccuracy: 4 clients × 8 goroutines on one key for 5s admit
// limit × T + burst within 2%. The burst is half a second of the limit, so
// that a goroutine the loaded machine stalls for less than that loses no
// token: the test measures the bucket, not the scheduler.
func TestAccuracy(t *testing.T) {
	s := redistest.Start(t)
	// A burst of a second of the limit: a load generator that a loaded
	// machine stalls for less than that loses no tokens, so what is
	// measured is the shared bucket, not the scheduler.
	const limit, burst = 1000, 1000
	admitted, calls, elapsed := load(t, s, 5*time.Second, 1<<20, limit, burst)
	want := limit*elapsed.Seconds() + burst
	t.Logf("accuracy: admitted %d of %d calls in %v; limit × T + burst = %.0f; error %+.2f%%",
		admitted, calls, elapsed, want, 100*(float64(admitted)-want)/want)
	require.Greater(t, calls, 2*admitted, "the load must exceed the limit")
	assert.InEpsilon(t, want, float64(admitted), 0.02)
}

// TestLeaseOvershootAndCommands: with leases of 100 tokens the fleet stays
// within limit × T + burst + instances × lease and sends Redis at most
// 0.1 commands per decision, counting the commands the script runs.
func TestLeaseOvershootAndCommands(t *testing.T) {
	s := redistest.Start(t)
	const limit, burst, lease, instances = 2000, 100, 100, 4
	s.ResetStats(t)
	admitted, calls, elapsed := load(t, s, 3*time.Second, 1<<20, limit, burst,
		redislimit.WithLease(lease), redislimit.WithPrefix("leased:"))
	st := s.CommandStats(t)
	var cmds int64
	for name, n := range st {
		if name != "info" && name != "config|resetstat" && name != "config" {
			cmds += n
		}
	}
	bound := limit*elapsed.Seconds() + burst + instances*lease
	plain := limit*elapsed.Seconds() + burst
	t.Logf("lease %d: admitted %d of %d calls in %v; limit × T + burst = %.0f, bound %.0f (overshoot %+.0f tokens)",
		lease, admitted, calls, elapsed, plain, bound, float64(admitted)-plain)
	t.Logf("lease %d: %d Redis commands (%v): %.4f per decision, %.4f per admitted decision; %d EVALSHA",
		lease, cmds, st, float64(cmds)/float64(calls), float64(cmds)/float64(admitted), st["evalsha"])
	assert.LessOrEqual(t, float64(admitted), bound)
	// Leases that expire unspent lose tokens, more of them on a loaded
	// machine; a lease never spent would admit next to nothing.
	assert.Greater(t, float64(admitted), 0.5*plain, "leases expire unspent, but under load they are spent")
	assert.LessOrEqual(t, float64(cmds)/float64(calls), 0.1)
}
