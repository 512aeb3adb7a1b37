package reliability_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/budget"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/chaos"
	"github.com/bulwark-go/bulwark/coalesce"
	"github.com/bulwark-go/bulwark/hedge"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/bulwark-go/bulwark/middleware/bulwarkgrpc"
	"github.com/bulwark-go/bulwark/middleware/bulwarkhttp"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/throttle"
	"github.com/bulwark-go/bulwark/timeout"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// FuzzOptions builds a policy of a package chosen by the first byte from a
// random set of options with random values, the extremes among them
// (0, -1, MaxInt64, NaN, ±Inf, 1e-12). Either the constructor or an option
// panics, with a message "bulwark/<pkg>: <Option>: ..." naming an option
// of the set or the constructor, or the policy works: a fresh policy
// admits a call that succeeds, and a script of calls drawn from the rest
// of the input (successes, failures, slow calls, rejections from inside,
// several at once) returns from every call without a panic, a hang or a
// deadlock, under the caller's deadline. The seeds are in
// testdata/fuzz/FuzzOptions and run in every test run.
func FuzzOptions(f *testing.F) {
	net := &netEnv{}
	f.Cleanup(net.close)
	f.Fuzz(func(t *testing.T, data []byte) {
		// A hang is a failure: it ends the process, which the fuzzer
		// reports with its input.
		watchdog := time.AfterFunc(30*time.Second, func() { panic(fmt.Sprintf("FuzzOptions hung on %q", data)) })
		defer watchdog.Stop()
		d := &decoder{data: data}
		gens := []func(*decoder) optionSet{
			breakerSet, retrySet, hedgeSet, bulkheadSet, adaptiveSet, throttleSet,
			bucketSet, keyedSet, slidingSet, timeoutSet, httpSet(net), grpcSet(net),
			chaosSet, coalesceSet,
		}
		set := gens[int(d.next())%len(gens)](d)
		p, ok := construct(t, set)
		if !ok {
			return
		}
		if set.network {
			set.run(t, p, d)
			return
		}
		synctest.Test(t, func(t *testing.T) { exercise(t, set, set.rebuild(), d) })
	})
}

// optionSet is a constructor call with its options, not yet made.
type optionSet struct {
	pkg   string   // the package the messages name: "breaker"
	names []string // the options of the set, and the constructor
	build func() bulwark.Policy
	// network sets run calls through real servers, outside a bubble.
	network bool
	// faulty sets inject faults themselves: a call may fail or panic with
	// chaos.ErrPanic.
	faulty bool
	run    func(t *testing.T, p bulwark.Policy, d *decoder)
}

// rebuild builds the policy again, inside the bubble whose clock it is
// to read.
func (s optionSet) rebuild() bulwark.Policy { return s.build() }

// construct builds the set's policy. A panic must name an option of the
// set, or its constructor, in bulwark's form.
func construct(t *testing.T, s optionSet) (p bulwark.Policy, ok bool) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		msg, isString := r.(string)
		require.True(t, isString, "a configuration panic is a message, got %#v", r)
		for _, name := range s.names {
			for _, pkg := range []string{s.pkg, "budget"} {
				if strings.HasPrefix(msg, "bulwark/"+pkg+": "+name+": ") {
					ok = false
					return
				}
			}
		}
		t.Fatalf("the panic %q names none of %v", msg, s.names)
	}()
	return s.build(), true
}

// exercise checks that a policy that was built works: its first call
// succeeds, and a script of calls all return.
func exercise(t *testing.T, set optionSet, p bulwark.Policy, d *decoder) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	execute := func(fn func(context.Context) error) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if !set.faulty || r != chaos.ErrPanic {
					panic(r)
				}
				err = chaos.ErrPanic
			}
		}()
		return p.Execute(ctx, fn)
	}
	if err := execute(testutil.Nop); !set.faulty {
		require.NoError(t, err, "a fresh policy admits a call that succeeds")
	}
	var wg sync.WaitGroup
	calls := int(d.next() % 8)
	for range calls {
		c := callScript{kind: d.next(), wait: d.dur()}
		concurrent := c.kind&0x80 != 0
		run := func() {
			defer wg.Done()
			err := execute(c.fn)
			if err != nil && !expected(err) {
				t.Errorf("an error no policy returns: %v", err)
			}
		}
		wg.Add(1)
		if concurrent {
			go run()
		} else {
			run()
		}
	}
	wg.Wait()
	_ = p.(bulwark.Inspectable).Status()
}

// callScript is what the protected function of one scripted call does.
type callScript struct {
	kind byte
	wait time.Duration
	n    int
	mu   sync.Mutex
}

func (c *callScript) fn(ctx context.Context) error {
	c.mu.Lock()
	c.n++
	n := c.n
	c.mu.Unlock()
	if n > 16 {
		// A retry of many attempts without delay would spin as long as
		// the caller's clock stands still.
		return bulwark.Permanent(errDep)
	}
	switch c.kind % 6 {
	case 0:
		return nil
	case 1:
		return errDep
	case 2:
		return testutil.SleepCtx(ctx, c.wait)
	case 3:
		if err := testutil.SleepCtx(ctx, c.wait); err != nil {
			return err
		}
		return errDep
	case 4:
		return testutil.ErrRejected
	}
	return bulwark.Permanent(errDep)
}

// expected reports whether err is one a call through a policy may end
// with: the function's own, a rejection, a timeout, an exhaustion, the
// caller's deadline.
func expected(err error) bool {
	return errors.Is(err, errDep) || errors.Is(err, bulwark.ErrRejected) || errors.Is(err, chaos.ErrPanic) || errors.Is(err, timeout.ErrTimeout) ||
		errors.Is(err, retry.ErrExhausted) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// decoder draws values from the fuzzer's bytes, the extremes more often
// than their share; past the end it reads zeros.
type decoder struct{ data []byte }

func (d *decoder) next() byte {
	if len(d.data) == 0 {
		return 0
	}
	b := d.data[0]
	d.data = d.data[1:]
	return b
}

func (d *decoder) raw() uint64 {
	var b [8]byte
	for i := range b {
		b[i] = d.next()
	}
	return binary.BigEndian.Uint64(b[:])
}

func (d *decoder) int() int {
	switch b := d.next(); b % 8 {
	case 0:
		return 0
	case 1:
		return -1
	case 2:
		return 1
	case 3:
		return math.MaxInt
	case 4:
		return math.MinInt
	case 5, 6:
		return int(b >> 3) // 0..31
	default:
		return int(int64(d.raw()))
	}
}

func (d *decoder) dur() time.Duration {
	switch b := d.next(); b % 8 {
	case 0:
		return 0
	case 1:
		return -1
	case 2:
		return 1 // the shortest there is
	case 3:
		return math.MaxInt64
	case 4:
		return math.MinInt64
	case 5:
		return time.Duration(b>>3) * time.Millisecond
	case 6:
		return time.Duration(b>>3) * time.Second
	default:
		return time.Duration(int64(d.raw()))
	}
}

func (d *decoder) float() float64 {
	switch b := d.next(); b % 12 {
	case 0:
		return 0
	case 1:
		return math.NaN()
	case 2:
		return math.Inf(1)
	case 3:
		return math.Inf(-1)
	case 4:
		return 1e-12
	case 5:
		return 1
	case 6:
		return -1
	case 7:
		return math.MaxFloat64
	case 8, 9:
		return float64(b/12) / 8 // 0 .. 2.6
	case 10:
		return float64(b/12) * 100
	default:
		return math.Float64frombits(d.raw())
	}
}

// options collects a set's options as functions, so that the options'
// own panics happen inside construct.
type options[O any] struct {
	names *[]string
	fns   []func() O
}

func (o *options[O]) add(name string, f func() O) {
	*o.names = append(*o.names, name)
	o.fns = append(o.fns, f)
}

func (o *options[O]) make() []O {
	out := make([]O, len(o.fns))
	for i, f := range o.fns {
		out[i] = f()
	}
	return out
}

func count(d *decoder) int { return int(d.next() % 6) }

func breakerSet(d *decoder) optionSet {
	s := optionSet{pkg: "breaker", names: []string{"New"}}
	o := &options[breaker.Option]{names: &s.names}
	for range count(d) {
		switch d.next() % 14 {
		case 0:
			n := d.int()
			o.add("WithConsecutiveFailures", func() breaker.Option { return breaker.WithConsecutiveFailures(n) })
		case 1:
			r := d.float()
			o.add("WithFailureRatio", func() breaker.Option { return breaker.WithFailureRatio(r) })
		case 2:
			th, r := d.dur(), d.float()
			o.add("WithSlowCalls", func() breaker.Option { return breaker.WithSlowCalls(th, r) })
		case 3:
			n := d.int()
			o.add("WithCountWindow", func() breaker.Option { return breaker.WithCountWindow(n) })
		case 4:
			span, n := d.dur(), d.int()
			o.add("WithTimeWindow", func() breaker.Option { return breaker.WithTimeWindow(span, n) })
		case 5:
			n := d.int()
			o.add("WithMinimumCalls", func() breaker.Option { return breaker.WithMinimumCalls(n) })
		case 6:
			v := d.dur()
			o.add("WithOpenDuration", func() breaker.Option { return breaker.WithOpenDuration(v) })
		case 7:
			fct, limit := d.float(), d.dur()
			o.add("WithOpenBackoff", func() breaker.Option { return breaker.WithOpenBackoff(fct, limit) })
		case 8:
			fr := d.float()
			o.add("WithOpenJitter", func() breaker.Option { return breaker.WithOpenJitter(fr) })
		case 9:
			k := d.int()
			o.add("WithHalfOpenProbes", func() breaker.Option { return breaker.WithHalfOpenProbes(k) })
		case 10:
			n := d.int()
			o.add("WithHalfOpenSuccesses", func() breaker.Option { return breaker.WithHalfOpenSuccesses(n) })
		case 11:
			r := d.float()
			o.add("WithHalfOpenSuccessRatio", func() breaker.Option { return breaker.WithHalfOpenSuccessRatio(r) })
		case 12:
			v := d.dur()
			o.add("WithHalfOpenMaxWait", func() breaker.Option { return breaker.WithHalfOpenMaxWait(v) })
		default:
			o.add("WithName", func() breaker.Option { return breaker.WithName("b") })
		}
	}
	s.build = func() bulwark.Policy { return breaker.New(o.make()...) }
	return s
}

// budgetOf draws a budget, or none.
func budgetOf(d *decoder, names *[]string) func() budget.Budget {
	switch d.next() % 3 {
	case 0:
		a, b := d.float(), d.float()
		*names = append(*names, "NewToken")
		return func() budget.Budget { return budget.NewToken(a, b) }
	case 1:
		a, b := d.float(), d.float()
		*names = append(*names, "NewRatio")
		return func() budget.Budget { return budget.NewRatio(a, b) }
	}
	return nil
}

func retrySet(d *decoder) optionSet {
	s := optionSet{pkg: "retry", names: []string{"New"}}
	o := &options[retry.Option]{names: &s.names}
	for range count(d) {
		switch d.next() % 9 {
		case 0:
			n := d.int()
			o.add("WithMaxAttempts", func() retry.Option { return retry.WithMaxAttempts(n) })
		case 1:
			v := d.dur()
			o.add("WithDelay", func() retry.Option { return retry.WithDelay(v) })
		case 2:
			a, b, c := d.dur(), d.dur(), d.dur()
			o.add("WithLinearBackoff", func() retry.Option { return retry.WithLinearBackoff(a, b, c) })
		case 3:
			a, fct, c := d.dur(), d.float(), d.dur()
			o.add("WithExponentialBackoff", func() retry.Option { return retry.WithExponentialBackoff(a, fct, c) })
		case 4:
			j := retry.Jitter(d.next() % 5)
			o.add("WithJitter", func() retry.Option { return retry.WithJitter(j) })
		case 5:
			v := d.dur()
			o.add("WithMaxDelay", func() retry.Option { return retry.WithMaxDelay(v) })
		case 6:
			v := d.dur()
			o.add("WithMaxDuration", func() retry.Option { return retry.WithMaxDuration(v) })
		case 7:
			v := d.dur()
			o.add("WithDelayFunc", func() retry.Option {
				return retry.WithDelayFunc(func(int, error) time.Duration { return v })
			})
		default:
			if b := budgetOf(d, &s.names); b != nil {
				o.add("WithBudget", func() retry.Option { return retry.WithBudget(b()) })
			}
		}
	}
	s.build = func() bulwark.Policy { return retry.New(o.make()...) }
	return s
}

func hedgeSet(d *decoder) optionSet {
	s := optionSet{pkg: "hedge", names: []string{"New"}}
	o := &options[hedge.Option]{names: &s.names}
	for range count(d) {
		switch d.next() % 4 {
		case 0:
			v := d.dur()
			o.add("WithDelay", func() hedge.Option { return hedge.WithDelay(v) })
		case 1:
			n := d.int()
			o.add("WithMaxHedges", func() hedge.Option { return hedge.WithMaxHedges(n) })
		case 2:
			q, w, fl := d.float(), d.int(), d.dur()
			o.add("WithLatencyQuantile", func() hedge.Option { return hedge.WithLatencyQuantile(q, w, fl) })
		default:
			if b := budgetOf(d, &s.names); b != nil {
				o.add("WithBudget", func() hedge.Option { return hedge.WithBudget(b()) })
			}
		}
	}
	s.build = func() bulwark.Policy { return hedge.New(o.make()...) }
	return s
}

// queueOptions draws the queue options both bulkheads take.
func queueOptions(d *decoder, o *options[bulkhead.Option]) {
	for range count(d) {
		switch d.next() % 2 {
		case 0:
			n := d.int()
			o.add("WithMaxQueue", func() bulkhead.Option { return bulkhead.WithMaxQueue(n) })
		default:
			v := d.dur()
			o.add("WithMaxWait", func() bulkhead.Option { return bulkhead.WithMaxWait(v) })
		}
	}
}

func bulkheadSet(d *decoder) optionSet {
	s := optionSet{pkg: "bulkhead", names: []string{"New"}}
	limit := d.int()
	o := &options[bulkhead.Option]{names: &s.names}
	queueOptions(d, o)
	s.build = func() bulwark.Policy { return bulkhead.New(limit, o.make()...) }
	return s
}

func adaptiveSet(d *decoder) optionSet {
	s := optionSet{pkg: "bulkhead", names: []string{"NewAdaptive"}}
	var alg func() bulkhead.Algorithm
	switch d.next() % 3 {
	case 0:
		b, slow := d.float(), d.dur()
		s.names = append(s.names, "AIMD")
		alg = func() bulkhead.Algorithm { return bulkhead.AIMD(b, slow) }
	case 1:
		alg = bulkhead.Vegas
	default:
		tol := d.float()
		s.names = append(s.names, "Gradient2")
		alg = func() bulkhead.Algorithm { return bulkhead.Gradient2(tol) }
	}
	q := &options[bulkhead.Option]{names: &s.names}
	queueOptions(d, q)
	o := &options[bulkhead.AdaptiveOption]{names: &s.names}
	for range count(d) {
		switch d.next() % 3 {
		case 0:
			lo, hi := d.int(), d.int()
			o.add("WithLimits", func() bulkhead.AdaptiveOption { return bulkhead.WithLimits(lo, hi) })
		case 1:
			n := d.int()
			o.add("WithInitialLimit", func() bulkhead.AdaptiveOption { return bulkhead.WithInitialLimit(n) })
		default:
			v := d.dur()
			o.add("WithSampleWindow", func() bulkhead.AdaptiveOption { return bulkhead.WithSampleWindow(v) })
		}
	}
	s.build = func() bulwark.Policy {
		opts := o.make()
		for _, qo := range q.make() {
			opts = append(opts, qo)
		}
		return bulkhead.NewAdaptive(alg(), opts...)
	}
	return s
}

func throttleSet(d *decoder) optionSet {
	s := optionSet{pkg: "throttle", names: []string{"New"}}
	o := &options[throttle.Option]{names: &s.names}
	for range count(d) {
		switch d.next() % 3 {
		case 0:
			k := d.float()
			o.add("WithK", func() throttle.Option { return throttle.WithK(k) })
		case 1:
			v := d.dur()
			o.add("WithWindow", func() throttle.Option { return throttle.WithWindow(v) })
		default:
			p := d.float()
			o.add("WithMaxRejection", func() throttle.Option { return throttle.WithMaxRejection(p) })
		}
	}
	s.build = func() bulwark.Policy { return throttle.New(o.make()...) }
	return s
}

func bucketSet(d *decoder) optionSet {
	s := optionSet{pkg: "ratelimit", names: []string{"New"}}
	limit, burst := rate.Limit(d.float()), d.int()
	o := &options[ratelimit.Option]{names: &s.names}
	if d.next()%2 == 0 {
		v := d.dur()
		o.add("WithMaxWait", func() ratelimit.Option { return ratelimit.WithMaxWait(v) })
	}
	s.build = func() bulwark.Policy { return ratelimit.New(limit, burst, o.make()...) }
	return s
}

func keyedSet(d *decoder) optionSet {
	s := optionSet{pkg: "ratelimit", names: []string{"NewKeyed"}}
	limit, burst := rate.Limit(d.float()), d.int()
	o := &options[ratelimit.KeyedOption]{names: &s.names}
	for range count(d) {
		switch d.next() % 3 {
		case 0:
			v := d.dur()
			o.add("WithMaxWait", func() ratelimit.KeyedOption { return ratelimit.WithMaxWait(v) })
		case 1:
			n := d.int()
			o.add("WithMaxKeys", func() ratelimit.KeyedOption { return ratelimit.WithMaxKeys(n) })
		default:
			v := d.dur()
			o.add("WithIdleExpiry", func() ratelimit.KeyedOption { return ratelimit.WithIdleExpiry(v) })
		}
	}
	s.build = func() bulwark.Policy { return ratelimit.NewKeyed(limit, burst, keyOf, o.make()...) }
	return s
}

func slidingSet(d *decoder) optionSet {
	n, w := d.int(), d.dur()
	return optionSet{pkg: "ratelimit", names: []string{"NewSlidingWindow"},
		build: func() bulwark.Policy { return ratelimit.NewSlidingWindow(n, w) }}
}

func timeoutSet(d *decoder) optionSet {
	s := optionSet{pkg: "timeout", names: []string{"New"}}
	v := d.dur()
	o := &options[timeout.Option]{names: &s.names}
	for range count(d) {
		switch d.next() % 2 {
		case 0:
			o.add("WithAbandon", timeout.WithAbandon)
		default:
			dyn := d.dur()
			o.add("WithDurationFunc", func() timeout.Option {
				return timeout.WithDurationFunc(func(context.Context) time.Duration { return dyn })
			})
		}
	}
	s.build = func() bulwark.Policy { return timeout.New(v, o.make()...) }
	return s
}

func chaosSet(d *decoder) optionSet {
	s := optionSet{pkg: "chaos", names: []string{"New"}, faulty: true}
	o := &options[chaos.Option]{names: &s.names}
	for range count(d) {
		switch d.next() % 5 {
		case 0:
			r := d.float()
			o.add("WithError", func() chaos.Option { return chaos.WithError(r, errDep) })
		case 1:
			r := d.float()
			o.add("WithPanic", func() chaos.Option { return chaos.WithPanic(r) })
		case 2:
			r := d.float()
			o.add("WithOutcome", func() chaos.Option {
				return chaos.WithOutcome(r, func(context.Context, error) error { return errDep })
			})
		case 3:
			r, v, j := d.float(), d.dur(), d.dur()
			o.add("WithLatency", func() chaos.Option { return chaos.WithLatency(r, v, j) })
		default:
			seed := d.raw()
			o.add("WithSeed", func() chaos.Option { return chaos.WithSeed(seed) })
		}
	}
	s.build = func() bulwark.Policy {
		c := chaos.New(o.make()...)
		c.SetEnabled(true)
		return c
	}
	return s
}

func coalesceSet(d *decoder) optionSet {
	s := optionSet{pkg: "coalesce", names: []string{"New"}}
	o := &options[coalesce.Option]{names: &s.names}
	if d.next()%2 == 0 {
		w, age := d.dur(), d.dur()
		o.add("WithStaleWhileRevalidate", func() coalesce.Option {
			return coalesce.WithStaleWhileRevalidate(w, func(context.Context, string) (string, time.Time, bool) {
				return "stale", time.Now().Add(-age), true
			})
		})
	}
	s.build = func() bulwark.Policy { return coalesce.New(keyOf, o.make()...) }
	return s
}

// netEnv is the servers the middleware sets call, started on first use
// and shared by every input.
type netEnv struct {
	once sync.Once
	http *httptest.Server
	base *http.Transport
	grpc *grpcServer
}

func (n *netEnv) start() {
	n.once.Do(func() {
		n.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", r.URL.Query().Get("after"))
			w.WriteHeader(http.StatusServiceUnavailable)
		}))
		n.base = &http.Transport{}
		n.grpc = startGRPC()
	})
}

func (n *netEnv) close() {
	if n.http != nil {
		n.base.CloseIdleConnections()
		n.http.Close()
		n.grpc.stop()
	}
}

// httpSet builds a Transport (and a Middleware) from random numeric
// options, and sends a request through them to a loopback server.
func httpSet(n *netEnv) func(*decoder) optionSet {
	return func(d *decoder) optionSet {
		s := optionSet{pkg: "bulwarkhttp", names: []string{"Transport", "Middleware", "NewPerKey"}, network: true}
		client := &options[bulwarkhttp.Option]{names: &s.names}
		server := &options[bulwarkhttp.Option]{names: &s.names}
		for range count(d) {
			switch d.next() % 5 {
			case 0:
				v := d.dur()
				client.add("WithMaxRetryAfter", func() bulwarkhttp.Option { return bulwarkhttp.WithMaxRetryAfter(v) })
			case 1:
				v := d.dur()
				client.add("WithAttemptTimeout", func() bulwarkhttp.Option { return bulwarkhttp.WithAttemptTimeout(v) })
			case 2:
				v := d.dur()
				client.add("WithTotalTimeout", func() bulwarkhttp.Option { return bulwarkhttp.WithTotalTimeout(v) })
			case 3:
				m := d.int()
				client.add("WithHostPolicy", func() bulwarkhttp.Option {
					return bulwarkhttp.WithHostPolicy(m, func(string) bulwark.Policy { return breaker.New() })
				})
			default:
				code := d.int()
				server.add("WithTimeoutStatus", func() bulwarkhttp.Option { return bulwarkhttp.WithTimeoutStatus(code) })
			}
		}
		perKey := d.int()
		var rt http.RoundTripper
		var mw http.Handler
		s.build = func() bulwark.Policy {
			p := retry.New(retry.WithDelay(0))
			n.start()
			rt = bulwarkhttp.Transport(n.base, p, client.make()...)
			mw = bulwarkhttp.Middleware(p, server.make()...)(http.NotFoundHandler())
			bulwarkhttp.NewPerKey(perKey, func(string) bulwark.Policy { return p })
			return p
		}
		s.run = func(t *testing.T, _ bulwark.Policy, d *decoder) {
			// A deadline shorter than the server's hints, so that the
			// retry gives up on them at once instead of sleeping them.
			ctx, cancel := context.WithTimeout(t.Context(), 250*time.Millisecond)
			defer cancel()
			after := []string{"0", "1", "-1", "99999999999999999999", "Fri, 31 Dec 9999 23:59:59 GMT", "soon"}[d.next()%6]
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.http.URL+"/?after="+url.QueryEscape(after), nil)
			require.NoError(t, err)
			if resp, err := rt.RoundTrip(req); err == nil {
				resp.Body.Close()
			}
			w := httptest.NewRecorder()
			mw.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
			require.Equal(t, http.StatusNotFound, w.Code)
		}
		return s
	}
}

// grpcSet builds the client and server interceptors from random numeric
// options and makes a call through the client one to a server on bufconn.
func grpcSet(n *netEnv) func(*decoder) optionSet {
	return func(d *decoder) optionSet {
		s := optionSet{pkg: "bulwarkgrpc", names: []string{"UnaryClientInterceptor"}, network: true}
		o := &options[bulwarkgrpc.Option]{names: &s.names}
		for range count(d) {
			switch d.next() % 2 {
			case 0:
				m := d.int()
				o.add("WithMaxReplay", func() bulwarkgrpc.Option { return bulwarkgrpc.WithMaxReplay(m) })
			default:
				cs := make([]codes.Code, d.next()%4)
				for i := range cs {
					cs[i] = codes.Code(d.next() % 20)
				}
				o.add("WithFailureCodes", func() bulwarkgrpc.Option { return bulwarkgrpc.WithFailureCodes(cs...) })
			}
		}
		var ic grpc.UnaryClientInterceptor
		s.build = func() bulwark.Policy {
			p := retry.New(retry.WithDelay(0))
			ic = bulwarkgrpc.UnaryClientInterceptor(p, o.make()...)
			return p
		}
		s.run = func(t *testing.T, _ bulwark.Policy, d *decoder) {
			n.start()
			code := codes.Code(d.next() % 17)
			client, closeClient := n.grpc.dial(t, grpc.WithChainUnaryInterceptor(ic, func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
				if code != codes.OK {
					return status.Error(code, "injected")
				}
				return invoker(ctx, method, req, reply, cc, opts...)
			}))
			defer closeClient()
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			_, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: "svc"})
			if code == codes.OK {
				require.NoError(t, err)
			} else {
				require.Equal(t, code, status.Code(err), "%v", err)
			}
		}
		return s
	}
}
