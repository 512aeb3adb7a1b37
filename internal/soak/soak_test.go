package soak_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/budget"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/chaos"
	"github.com/bulwark-go/bulwark/fallback"
	"github.com/bulwark-go/bulwark/hedge"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/bulwark-go/bulwark/middleware/bulwarkhttp"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

var (
	soakCalls    = flag.Int("soak.calls", 5000, "calls the soak makes (CI: 100000, the long form: 1000000)")
	soakDuration = flag.Duration("soak.duration", 0, "run the soak for this long instead of a number of calls")
)

const (
	workers = 64
	// Every call has a deadline of a second and must be answered by it,
	// with slack; the pipeline's own timeout is shorter, and fires.
	callerTimeout = time.Second
	total         = 300 * time.Millisecond
	slack         = 50 * time.Millisecond
	warmup        = 2000
	// pace is the interval between the starts of a worker's calls: 64
	// workers offer 21,000 calls a second, or 2,500 under the race
	// detector, which makes every call several times as costly: about
	// what this machine serves, so that the soak is a load, not an
	// overload.
	pace          = 3 * time.Millisecond
	racePace      = 25 * time.Millisecond
	maxHeapGrowth = 1 << 20
	// tenantCalls is the calls of one tenant, one more than the burst of
	// its bucket: the limiter rejects one call in tenantCalls, whatever
	// the machine's speed.
	tenantCalls = 20
)

// workerPace is pace, or racePace under the race detector.
var workerPace = func() time.Duration {
	if testutil.Race {
		return racePace
	}
	return pace
}()

// probe is a pass-through policy the soak puts at the edges of the
// policies it checks: it counts what crosses there, classified as the
// outcome table of the bulwark package doc says.
type probe struct {
	calls, panics             atomic.Int64
	success, failure, ignored atomic.Int64
	limited, open, full       atomic.Int64
	ended                     atomic.Int64 // context errors: the call's, or its timeout's
	exhausted, refused        atomic.Int64
}

func (p *probe) Execute(ctx context.Context, fn func(context.Context) error) error {
	p.calls.Add(1)
	returned := false
	defer func() {
		if !returned {
			p.panics.Add(1)
			p.failure.Add(1) // a panic is a failure (the outcome table)
		}
	}()
	err := fn(ctx)
	returned = true
	switch {
	case err == nil:
		p.success.Add(1)
	case bulwark.CallerCanceled(ctx, err), errors.Is(err, bulwark.ErrRejected):
		p.ignored.Add(1)
	case bulwark.IsPermanent(err):
		p.success.Add(1)
	default:
		p.failure.Add(1)
	}
	// Each kind on its own: an ExhaustedError wraps the rejection or the
	// failure it gave up on.
	if errors.Is(err, ratelimit.ErrLimited) {
		p.limited.Add(1)
	}
	if errors.Is(err, breaker.ErrOpen) {
		p.open.Add(1)
	}
	if errors.Is(err, bulkhead.ErrFull) {
		p.full.Add(1)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		p.ended.Add(1)
	}
	if ex := (*retry.ExhaustedError)(nil); errors.As(err, &ex) {
		p.exhausted.Add(1)
		if ex.Reason == retry.ReasonBudget {
			p.refused.Add(1)
		}
	}
	return err
}

// rig is the soak's client and server and every policy in them.
type rig struct {
	srv     *httptest.Server
	base    *http.Transport
	client  *http.Client
	p       *bulwark.Pipeline
	limiter *ratelimit.Keyed
	retry   *retry.Retry
	breaker *breaker.Breaker
	bh      *bulkhead.Bulkhead
	hedge   *hedge.Hedge
	fb      *fallback.Fallback
	inject  *chaos.Chaos // the client's: panics in the attempts
	faults  *chaos.Chaos // the server's: errors, latency spikes, panics
	srvBH   *bulkhead.Bulkhead

	fellBack atomic.Int64
	// The probes, named by the edge they watch.
	outside, limiterIn, retryOut, retryIn, breakerIn, bulkheadIn, hedgeIn probe
}

func newRig(t *testing.T) *rig {
	r := &rig{}
	// The server: a bulkhead in the middleware, and a handler whose
	// dependency fails 30% of its calls with a 503, is slow in 2% of them
	// (a spike of 30ms ± 20ms) and panics in 0.1%.
	r.faults = chaos.New(
		chaos.WithError(0.3, errors.New("dependency unavailable")),
		chaos.WithPanic(0.001),
		chaos.WithLatency(0.02, 30*time.Millisecond, 20*time.Millisecond),
	)
	r.faults.SetEnabled(true)
	r.srvBH = bulkhead.New(64, bulkhead.WithMaxQueue(32), bulkhead.WithMaxWait(10*time.Millisecond))
	handler := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if err := r.faults.Execute(req.Context(), testutil.Nop); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	r.srv = httptest.NewUnstartedServer(bulwarkhttp.Middleware(r.srvBH)(handler))
	// A panic in a handler is net/http's to log; the soak counts them.
	r.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	r.srv.Start()

	// The client: the full pipeline in the Transport, each attempt one
	// request. The client's chaos, innermost, panics in 0.1% of the
	// attempts: the panic crosses every policy and the Transport to the
	// caller.
	r.limiter = ratelimit.NewKeyed(1, tenantCalls-1, tenantOf, ratelimit.WithMaxKeys(256), ratelimit.WithMaxWait(time.Millisecond))
	r.retry = retry.New(retry.WithMaxAttempts(3), retry.WithExponentialBackoff(2*time.Millisecond, 2, 20*time.Millisecond),
		retry.WithJitter(retry.JitterFull), retry.WithBudget(budget.NewRatio(0.1, 20)))
	r.breaker = breaker.New(breaker.WithConsecutiveFailures(4), breaker.WithOpenDuration(10*time.Millisecond))
	r.bh = bulkhead.New(48, bulkhead.WithMaxQueue(32), bulkhead.WithMaxWait(5*time.Millisecond))
	r.hedge = hedge.New(hedge.WithDelay(25 * time.Millisecond))
	r.fb = fallback.New(func(context.Context, error) error { r.fellBack.Add(1); return nil },
		fallback.WithHandleIf(func(err error) bool { return errors.Is(err, breaker.ErrOpen) }))
	r.inject = chaos.New(chaos.WithPanic(0.001))
	r.inject.SetEnabled(true)
	r.p = bulwark.New(
		r.fb, &r.outside,
		r.limiter, &r.limiterIn,
		timeout.New(total),
		&r.retryOut, r.retry, &r.retryIn,
		r.breaker, &r.breakerIn,
		r.bh, &r.bulkheadIn,
		r.hedge, &r.hedgeIn,
		r.inject,
	)
	require.Empty(t, bulwark.Lint(r.p), "the soak's pipeline is in an order that works")
	r.base = &http.Transport{MaxIdleConnsPerHost: 2 * workers}
	r.client = &http.Client{Transport: bulwarkhttp.Transport(r.base, r.p, bulwarkhttp.WithAttemptTimeout(200*time.Millisecond))}
	return r
}

// tally is what the callers saw.
type tally struct {
	calls, ok, failed, panics, noAnswer atomic.Int64
	late, pastTimeout                   atomic.Int64
	worst                               atomic.Int64 // the longest call, ns
	latencies                           histogram
}

// histogram counts durations in buckets 1% wide, from 1µs to past a
// minute: fixed in size, so that the soak's own record does not grow the
// heap it measures.
type histogram [1900]atomic.Int64

var logStep = math.Log(1.01)

func (h *histogram) add(d time.Duration) {
	i := 0
	if us := float64(d) / 1e3; us > 1 {
		i = min(int(math.Log(us)/logStep)+1, len(h)-1)
	}
	h[i].Add(1)
}

// quantile returns the upper end of the bucket of the q quantile.
func (h *histogram) quantile(q float64) time.Duration {
	var n int64
	for i := range h {
		n += h[i].Load()
	}
	want := int64(q * float64(n))
	for i := range h {
		if want -= h[i].Load(); want < 0 {
			return time.Duration(math.Pow(1.01, float64(i)) * 1e3)
		}
	}
	return 0
}

// tenantOf is the key of the call's tenant.
func tenantOf(ctx context.Context) string {
	s, _ := ctx.Value(tenantKey{}).(string)
	return s
}

type tenantKey struct{}

// call makes one call as a caller does: a GET with a deadline, the body
// read and closed. A panic is recovered and counted, and must be the
// client chaos's own value.
func (r *rig) call(t *testing.T, tl *tally, i int64) {
	ctx, cancel := context.WithTimeout(context.Background(), callerTimeout)
	defer cancel()
	ctx = context.WithValue(ctx, tenantKey{}, "tenant-"+strconv.FormatInt(i/tenantCalls, 10))
	start := time.Now()
	defer func() {
		took := time.Since(start)
		tl.calls.Add(1)
		for {
			w := tl.worst.Load()
			if int64(took) <= w || tl.worst.CompareAndSwap(w, int64(took)) {
				break
			}
		}
		if took > callerTimeout+slack {
			tl.late.Add(1)
		}
		if took > total+slack {
			tl.pastTimeout.Add(1)
		}
		tl.latencies.add(took)
		if v := recover(); v != nil {
			tl.panics.Add(1)
			if v != chaos.ErrPanic {
				t.Errorf("a panic that is not the injected one reached the caller: %v", v)
			}
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.srv.URL, nil)
	if err != nil {
		t.Error(err)
		return
	}
	resp, err := r.client.Do(req)
	if err != nil {
		tl.failed.Add(1)
		if strings.Contains(err.Error(), "without a response") {
			tl.noAnswer.Add(1) // the fallback answered an open breaker
		}
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		tl.ok.Add(1)
	} else {
		tl.failed.Add(1)
	}
}

// run makes n calls (or calls until the deadline, when it is set) from
// the workers.
func (r *rig) run(t *testing.T, tl *tally, first, n int64, until time.Time) {
	next := atomic.Int64{}
	next.Store(first)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			// Each worker starts a call every pace, or at once when it
			// is behind: the load does not grow when calls fail fast (an
			// open breaker's), as a loop of calls back to back would.
			at := time.Now()
			for {
				i := next.Add(1)
				if until.IsZero() && i > first+n || !until.IsZero() && time.Now().After(until) {
					return
				}
				r.call(t, tl, i)
				at = at.Add(workerPace)
				if d := time.Until(at); d > 0 {
					time.Sleep(d)
				} else {
					at = time.Now()
				}
			}
		})
	}
	wg.Wait()
}

// heap returns the live heap once the garbage is collected and the
// connections closed.
func (r *rig) heap() uint64 {
	r.base.CloseIdleConnections()
	var ms runtime.MemStats
	for range 3 {
		testutil.Settle()
		runtime.ReadMemStats(&ms)
	}
	return ms.HeapAlloc
}

func TestSoak(t *testing.T) {
	r := newRig(t)
	closed := false
	closeAll := func() {
		if !closed {
			closed = true
			r.base.CloseIdleConnections()
			r.srv.Close()
		}
	}
	defer closeAll()

	// A warm-up fills the pools and the connections, so that what the
	// heap keeps after it is what the soak itself keeps.
	tl := &tally{}
	r.run(t, &tally{}, 0, warmup, time.Time{})
	before := r.heap()
	snap := r.snapshot()

	var until time.Time
	if *soakDuration > 0 {
		until = time.Now().Add(*soakDuration)
	}
	start := time.Now()
	r.run(t, tl, warmup, int64(*soakCalls), until)
	elapsed := time.Since(start)
	after := r.heap()

	closeAll()
	goleak.VerifyNone(t)

	// Every call was answered, by its deadline.
	calls := tl.calls.Load()
	if until.IsZero() {
		require.Equal(t, int64(*soakCalls), calls)
	}
	assert.Equal(t, calls, tl.ok.Load()+tl.failed.Load()+tl.panics.Load(), "every call ended in an answer, an error or the panic")
	assert.Zero(t, tl.late.Load(), "calls answered after their deadline of %v + %v (the longest took %v)", callerTimeout, slack, time.Duration(tl.worst.Load()))

	// Every permit is back.
	for name, bh := range map[string]*bulkhead.Bulkhead{"client": r.bh, "server": r.srvBH} {
		s := bh.Snapshot()
		assert.Zero(t, s.InFlight, "%s bulkhead: calls in flight", name)
		assert.Zero(t, s.Queued, "%s bulkhead: calls queued", name)
	}

	// The policies counted what crossed their edges, over warm-up and
	// soak together: the probes saw both.
	checkCounts(t, r)
	assert.Equal(t, tl.panics.Load(), r.outside.panics.Load()-snap.outsidePanics, "every panic that left the pipeline reached its caller")
	assert.Equal(t, tl.noAnswer.Load(), r.fellBack.Load()-snap.fellBack, "every fallback reached its caller")

	growth := int64(after) - int64(before)
	assert.Less(t, growth, int64(maxHeapGrowth), "the heap kept %d bytes over the soak", growth)

	report(t, r, tl, snap, elapsed, growth)
}

// baseline is what the warm-up left in the counts the soak reports.
type baseline struct {
	outsidePanics, fellBack, limited, retries, exhausted, refused, open, full, hedges, injected int64
	faults                                                                                      chaos.Snapshot
}

func (r *rig) snapshot() baseline {
	return baseline{
		outsidePanics: r.outside.panics.Load(), fellBack: r.fellBack.Load(),
		limited: r.limiter.Snapshot().Rejected, retries: r.retry.Snapshot().Retries,
		exhausted: r.retry.Snapshot().Exhausted, refused: r.retry.Snapshot().BudgetRefused,
		open: r.breaker.Status().Rejected, full: r.bh.Snapshot().Rejected, hedges: r.hedge.Snapshot().Hedges,
		injected: r.inject.Snapshot().Panics, faults: r.faults.Snapshot(),
	}
}

// checkCounts holds every policy's own counts to its probes'.
func checkCounts(t *testing.T, r *rig) {
	// The limiter: its rejections are the ErrLimited that left it, and
	// it let the rest through, but for the calls whose context ended
	// while they waited for their token: those left with a context error
	// that no call inside returned. The same holds for the bulkhead's
	// queue below.
	assert.Equal(t, r.outside.limited.Load(), r.limiter.Snapshot().Rejected, "limiter: rejections")
	leftLimiter := r.outside.ended.Load() - r.limiterIn.ended.Load()
	assert.Equal(t, r.outside.calls.Load()-r.outside.limited.Load()-leftLimiter, r.limiterIn.calls.Load(), "limiter: calls let through")

	// The retry: each attempt after a call's first is a retry; each call
	// it gave up on left it as an ExhaustedError, budget refusals among
	// them.
	rs := r.retry.Snapshot()
	assert.Equal(t, r.retryIn.calls.Load()-r.retryOut.calls.Load(), rs.Retries, "retry: retries")
	assert.Equal(t, r.retryOut.exhausted.Load(), rs.Exhausted, "retry: calls exhausted")
	assert.Equal(t, r.retryOut.refused.Load(), rs.BudgetRefused, "retry: budget refusals")

	// The breaker: every attempt it admitted, by outcome, and each of its
	// rejections.
	bs := r.breaker.Status()
	assert.Equal(t, r.breakerIn.success.Load(), bs.Successes, "breaker: successes")
	assert.Equal(t, r.breakerIn.failure.Load(), bs.Failures, "breaker: failures")
	assert.Equal(t, r.breakerIn.ignored.Load(), bs.Ignored, "breaker: ignored")
	assert.Equal(t, r.retryIn.open.Load(), bs.Rejected, "breaker: rejections")
	assert.Equal(t, r.retryIn.calls.Load(), bs.Successes+bs.Failures+bs.Ignored+bs.Rejected, "breaker: every attempt")

	// The bulkhead and the hedge.
	assert.Equal(t, r.breakerIn.full.Load(), r.bh.Snapshot().Rejected, "bulkhead: rejections")
	leftQueue := r.breakerIn.ended.Load() - r.bulkheadIn.ended.Load()
	assert.Equal(t, r.breakerIn.calls.Load()-r.breakerIn.full.Load()-leftQueue, r.bulkheadIn.calls.Load(), "bulkhead: calls let through")
	assert.GreaterOrEqual(t, leftQueue, int64(0))
	assert.GreaterOrEqual(t, leftLimiter, int64(0))
	assert.Equal(t, r.hedgeIn.calls.Load()-r.bulkheadIn.calls.Load(), r.hedge.Snapshot().Hedges, "hedge: hedges launched")

	// The client's chaos: every panic it raised was seen at its edge, and
	// the fallback ran for each open breaker that reached it.
	assert.Equal(t, r.hedgeIn.panics.Load(), r.inject.Snapshot().Panics, "chaos: panics")
	assert.Equal(t, r.outside.open.Load(), r.fellBack.Load(), "the fallback answers every open breaker's rejection that leaves the pipeline")
	assert.Equal(t, r.fellBack.Load(), r.fb.Status().Failures, "fallback: calls answered")
}

func report(t *testing.T, r *rig, tl *tally, b baseline, elapsed time.Duration, growth int64) {
	q := tl.latencies.quantile
	calls := tl.calls.Load()
	f := r.faults.Snapshot()
	rs := r.retry.Snapshot()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	lines := []string{
		fmt.Sprintf("calls %d from %d goroutines in %v (%.0f calls/s), GOMAXPROCS %d", calls, workers, elapsed.Round(time.Millisecond),
			float64(calls)/elapsed.Seconds(), runtime.GOMAXPROCS(0)),
		fmt.Sprintf("answered %d ok, %d failed (%d by the fallback), %d panics reached the caller", tl.ok.Load(), tl.failed.Load(), tl.noAnswer.Load(), tl.panics.Load()),
		fmt.Sprintf("latency p50 %v, p99 %v, p99.9 %v, max %v (deadline %v + %v); %d calls past the pipeline's timeout of %v + %v",
			q(0.5).Round(time.Microsecond), q(0.99).Round(time.Microsecond), q(0.999).Round(time.Microsecond),
			time.Duration(tl.worst.Load()).Round(time.Microsecond), callerTimeout, slack, tl.pastTimeout.Load(), total, slack),
		fmt.Sprintf("server faults: %d errors, %d latency spikes, %d panics", f.Errors-b.faults.Errors, f.Latencies-b.faults.Latencies, f.Panics-b.faults.Panics),
		fmt.Sprintf("client: %d attempt panics, %d retries (%d calls exhausted, %d budget refusals), %d hedges, %d rate-limited, %d breaker rejections, %d bulkhead rejections",
			r.inject.Snapshot().Panics-b.injected, rs.Retries-b.retries, rs.Exhausted-b.exhausted, rs.BudgetRefused-b.refused,
			r.hedge.Snapshot().Hedges-b.hedges, r.limiter.Snapshot().Rejected-b.limited, r.breaker.Status().Rejected-b.open, r.bh.Snapshot().Rejected-b.full),
		fmt.Sprintf("calls whose context ended while they waited: %d for a token, %d in the bulkhead's queue (both runs)",
			r.outside.ended.Load()-r.limiterIn.ended.Load(), r.breakerIn.ended.Load()-r.bulkheadIn.ended.Load()),
		fmt.Sprintf("heap growth %d bytes after GC; goroutines at the end %d", growth, runtime.NumGoroutine()),
	}
	t.Log("soak:\n  " + strings.Join(lines, "\n  "))
}
