package reliability_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/breaker/redisstore"
	"github.com/bulwark-go/bulwark/budget"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/chaos"
	"github.com/bulwark-go/bulwark/coalesce"
	"github.com/bulwark-go/bulwark/hedge"
	"github.com/bulwark-go/bulwark/internal/redistest"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/bulwark-go/bulwark/middleware/bulwarkgrpc"
	"github.com/bulwark-go/bulwark/middleware/bulwarkhttp"
	"github.com/bulwark-go/bulwark/operate"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/ratelimit/redislimit"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/throttle"
	"github.com/bulwark-go/bulwark/timeout"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"
	"google.golang.org/grpc/codes"
)

// The option audit gives every constructor argument and numeric option of
// every package the values that break arithmetic: zero, negative, the
// least and the largest of their type, and for floats NaN, ±Inf and
// 1e-12. Each row says which of them the option accepts; every other one
// must be rejected at construction by a panic of bulwark's form,
// "bulwark/<pkg>: <Option>: ...", that shows the value. An accepted value
// must give a policy that works at the extreme: it admits a call, lets
// failing and slow calls (several at once) return under the caller's
// deadline, never hints a negative wait, and reads its Status. What a row
// does not list is a decision to reject; a new extreme that a package
// starts to accept fails the row until the row says so.

// audited are the values of one kind, by label.
type audited struct {
	labels []string
	values []any
}

var (
	ints = audited{
		labels: []string{"0", "-1", "MinInt64", "MaxInt64"},
		values: []any{0, -1, math.MinInt, math.MaxInt},
	}
	durations = audited{
		labels: []string{"0", "-1ns", "1ns", "MinInt64", "MaxInt64"},
		values: []any{time.Duration(0), time.Duration(-1), time.Duration(1), time.Duration(math.MinInt64), time.Duration(math.MaxInt64)},
	}
	floats = audited{
		labels: []string{"0", "-1", "NaN", "+Inf", "-Inf", "1e-12", "MaxInt64", "MaxFloat64"},
		values: []any{0.0, -1.0, math.NaN(), math.Inf(1), math.Inf(-1), 1e-12, float64(math.MaxInt64), math.MaxFloat64},
	}
	grpcCodes = audited{
		labels: []string{"OK", "17", "MaxUint32"},
		values: []any{codes.OK, codes.Code(17), codes.Code(math.MaxUint32)},
	}
	jitters = audited{
		labels: []string{"4", "255"},
		values: []any{retry.Jitter(4), retry.Jitter(255)},
	}
)

// shown is how a rejection's message shows v.
func shown(v any) string {
	switch v := v.(type) {
	case int:
		return strconv.Itoa(v)
	case codes.Code:
		return v.String()
	case retry.Jitter:
		return strconv.Itoa(int(v))
	}
	return fmt.Sprint(v)
}

// auditRow is one argument of one constructor or option.
type auditRow struct {
	pkg    string // as messages name it: "breaker"
	option string // as messages name it: "WithFailureRatio", or the constructor
	kind   audited
	accept string // the labels of the values accepted, space separated
	// build builds a policy with the argument at v, every other argument
	// valid.
	build func(v any) bulwark.Policy
	// works checks an accepted value; default: worksInBubble.
	works func(t *testing.T, v any, build func() bulwark.Policy)
}

func TestOptionAudit(t *testing.T) {
	for _, r := range auditRows(t) {
		for i, label := range r.kind.labels {
			v := r.kind.values[i]
			t.Run(r.pkg+"."+r.option+"/"+label, func(t *testing.T) {
				build := func() bulwark.Policy { return r.build(v) }
				msg, panicked := panicOf(build)
				if !slices.Contains(strings.Fields(r.accept), label) {
					require.True(t, panicked, "%s(%s) must be rejected at construction", r.option, label)
					require.True(t, strings.HasPrefix(msg, "bulwark/"+r.pkg+": "+r.option+": "), "the message names the package and the option: %q", msg)
					require.Contains(t, msg, shown(v), "the message shows the value")
					return
				}
				require.False(t, panicked, "%s(%s) is accepted, but: %s", r.option, label, msg)
				works := r.works
				if works == nil {
					works = worksInBubble
				}
				works(t, v, build)
			})
		}
	}
}

// panicOf builds, and returns the message of the panic if it panicked.
func panicOf(build func() bulwark.Policy) (msg string, panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			msg, panicked = fmt.Sprint(r), true
		}
	}()
	build()
	return "", false
}

// worksInBubble checks a policy built inside a synctest bubble, whose
// clock it reads from its first call: extreme durations pass in no time.
func worksInBubble(t *testing.T, _ any, build func() bulwark.Policy) {
	synctest.Test(t, func(t *testing.T) { exerciseExtreme(t, build()) })
}

func exerciseExtreme(t *testing.T, p bulwark.Policy) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
	defer cancel()
	require.NoError(t, p.Execute(ctx, testutil.Nop), "a fresh policy admits a call that succeeds")
	check := func(err error) {
		if d, ok := bulwark.RetryAfter(err); ok {
			require.GreaterOrEqual(t, d, time.Duration(0), "a hint is never a negative wait: %v", err)
		}
	}
	for range 12 {
		check(p.Execute(ctx, testutil.Fail))
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			errs[i] = p.Execute(ctx, func(ctx context.Context) error { return testutil.SleepCtx(ctx, time.Second) })
		})
	}
	wg.Wait()
	for _, err := range errs {
		check(err)
	}
	check(p.Execute(ctx, testutil.Nop))
	if i, ok := p.(bulwark.Inspectable); ok {
		_ = i.Status()
	}
}

// enabled is a Chaos with opt, enabled for every call.
func enabled(opt chaos.Option) bulwark.Policy {
	c := chaos.New(opt)
	c.SetEnabled(true)
	return c
}

// delayed checks a Chaos that delays every call: the call runs after the
// delay, or returns the caller's deadline when the delay is longer.
func delayed(t *testing.T, _ any, build func() bulwark.Policy) {
	synctest.Test(t, func(t *testing.T) {
		p := build()
		ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
		defer cancel()
		ran := false
		err := p.Execute(ctx, func(context.Context) error { ran = true; return nil })
		if ran {
			require.NoError(t, err)
		} else {
			require.ErrorIs(t, err, context.DeadlineExceeded, "a delay past the deadline ends with it")
		}
		_ = p.(bulwark.Inspectable).Status()
	})
}

// Adapters from a typed build to one that takes the audited value.
func withInt(f func(int) bulwark.Policy) func(any) bulwark.Policy {
	return func(v any) bulwark.Policy { return f(v.(int)) }
}

func withDuration(f func(time.Duration) bulwark.Policy) func(any) bulwark.Policy {
	return func(v any) bulwark.Policy { return f(v.(time.Duration)) }
}

func withFloat(f func(float64) bulwark.Policy) func(any) bulwark.Policy {
	return func(v any) bulwark.Policy { return f(v.(float64)) }
}

func auditRows(t *testing.T) []auditRow {
	ratio := breaker.WithFailureRatio(0.5)
	rows := []auditRow{
		// breaker
		{"breaker", "WithConsecutiveFailures", ints, "MaxInt64", withInt(func(n int) bulwark.Policy { return breaker.New(breaker.WithConsecutiveFailures(n)) }), nil},
		{"breaker", "WithFailureRatio", floats, "1e-12", withFloat(func(r float64) bulwark.Policy { return breaker.New(breaker.WithFailureRatio(r)) }), nil},
		{"breaker", "WithSlowCalls", durations, "1ns MaxInt64", withDuration(func(d time.Duration) bulwark.Policy { return breaker.New(breaker.WithSlowCalls(d, 0.5)) }), nil},
		{"breaker", "WithSlowCalls", floats, "1e-12", withFloat(func(r float64) bulwark.Policy { return breaker.New(breaker.WithSlowCalls(time.Second, r)) }), nil},
		{"breaker", "WithCountWindow", ints, "", withInt(func(n int) bulwark.Policy { return breaker.New(ratio, breaker.WithCountWindow(n)) }), nil},
		{"breaker", "WithTimeWindow", durations, "MaxInt64", withDuration(func(d time.Duration) bulwark.Policy { return breaker.New(ratio, breaker.WithTimeWindow(d, 10)) }), nil},
		{"breaker", "WithTimeWindow", ints, "", withInt(func(n int) bulwark.Policy { return breaker.New(ratio, breaker.WithTimeWindow(time.Minute, n)) }), nil},
		{"breaker", "WithMinimumCalls", ints, "MaxInt64", withInt(func(n int) bulwark.Policy {
			return breaker.New(ratio, breaker.WithTimeWindow(time.Minute, 10), breaker.WithMinimumCalls(n))
		}), nil},
		{"breaker", "WithMinimumCalls", ints, "", withInt(func(n int) bulwark.Policy { return breaker.New(ratio, breaker.WithMinimumCalls(n)) }), nil},
		{"breaker", "WithOpenDuration", durations, "1ns MaxInt64", withDuration(func(d time.Duration) bulwark.Policy { return breaker.New(breaker.WithOpenDuration(d)) }), nil},
		{"breaker", "WithOpenBackoff", floats, "MaxInt64 MaxFloat64", withFloat(func(f float64) bulwark.Policy {
			return breaker.New(breaker.WithOpenDuration(time.Second), breaker.WithOpenBackoff(f, time.Hour))
		}), nil},
		{"breaker", "WithOpenBackoff", durations, "MaxInt64", withDuration(func(d time.Duration) bulwark.Policy {
			return breaker.New(breaker.WithOpenDuration(time.Second), breaker.WithOpenBackoff(2, d))
		}), nil},
		{"breaker", "WithOpenJitter", floats, "0 1e-12", withFloat(func(f float64) bulwark.Policy { return breaker.New(breaker.WithOpenJitter(f)) }), nil},
		{"breaker", "WithHalfOpenProbes", ints, "MaxInt64", withInt(func(n int) bulwark.Policy { return breaker.New(breaker.WithHalfOpenProbes(n)) }), nil},
		{"breaker", "WithHalfOpenSuccesses", ints, "", withInt(func(n int) bulwark.Policy {
			return breaker.New(breaker.WithHalfOpenProbes(3), breaker.WithHalfOpenSuccesses(n))
		}), nil},
		{"breaker", "WithHalfOpenSuccessRatio", floats, "1e-12", withFloat(func(f float64) bulwark.Policy {
			return breaker.New(breaker.WithHalfOpenProbes(math.MaxInt), breaker.WithHalfOpenSuccessRatio(f))
		}), nil},
		{"breaker", "WithHalfOpenMaxWait", durations, "1ns MaxInt64", withDuration(func(d time.Duration) bulwark.Policy { return breaker.New(breaker.WithHalfOpenMaxWait(d)) }), nil},

		// retry and budget
		{"retry", "WithMaxAttempts", ints, "MaxInt64", withInt(func(n int) bulwark.Policy {
			return retry.New(retry.WithMaxAttempts(n), retry.WithDelay(time.Minute))
		}), nil},
		{"retry", "WithDelay", durations, "0 1ns MaxInt64", withDuration(func(d time.Duration) bulwark.Policy { return retry.New(retry.WithDelay(d)) }), nil},
		{"retry", "WithLinearBackoff", durations, "0 1ns", withDuration(func(d time.Duration) bulwark.Policy {
			return retry.New(retry.WithLinearBackoff(d, time.Millisecond, time.Second))
		}), nil},
		{"retry", "WithLinearBackoff", durations, "1ns MaxInt64", withDuration(func(d time.Duration) bulwark.Policy {
			return retry.New(retry.WithLinearBackoff(time.Millisecond, d, time.Second))
		}), nil},
		{"retry", "WithLinearBackoff", durations, "MaxInt64", withDuration(func(d time.Duration) bulwark.Policy {
			return retry.New(retry.WithLinearBackoff(time.Millisecond, time.Millisecond, d))
		}), nil},
		{"retry", "WithExponentialBackoff", durations, "1ns", withDuration(func(d time.Duration) bulwark.Policy {
			return retry.New(retry.WithExponentialBackoff(d, 2, time.Second))
		}), nil},
		{"retry", "WithExponentialBackoff", floats, "MaxInt64 MaxFloat64", withFloat(func(f float64) bulwark.Policy {
			return retry.New(retry.WithExponentialBackoff(time.Millisecond, f, time.Second), retry.WithMaxAttempts(5))
		}), nil},
		{"retry", "WithExponentialBackoff", durations, "MaxInt64", withDuration(func(d time.Duration) bulwark.Policy {
			return retry.New(retry.WithExponentialBackoff(time.Millisecond, 2, d), retry.WithMaxAttempts(100))
		}), nil},
		{"retry", "WithJitter", jitters, "", func(v any) bulwark.Policy { return retry.New(retry.WithJitter(v.(retry.Jitter))) }, nil},
		{"retry", "WithMaxDelay", durations, "1ns MaxInt64", withDuration(func(d time.Duration) bulwark.Policy { return retry.New(retry.WithMaxDelay(d)) }), nil},
		{"retry", "WithMaxDuration", durations, "1ns MaxInt64", withDuration(func(d time.Duration) bulwark.Policy { return retry.New(retry.WithMaxDuration(d)) }), nil},
		{"retry", "WithDelayFunc", durations, "0 -1ns 1ns MinInt64 MaxInt64", withDuration(func(d time.Duration) bulwark.Policy {
			return retry.New(retry.WithDelayFunc(func(int, error) time.Duration { return d }))
		}), nil},
		{"budget", "NewToken", floats, "", withFloat(func(f float64) bulwark.Policy { return retry.New(retry.WithBudget(budget.NewToken(f, 0.1))) }), nil},
		{"budget", "NewToken", floats, "", withFloat(func(f float64) bulwark.Policy { return retry.New(retry.WithBudget(budget.NewToken(10, f))) }), nil},
		{"budget", "NewRatio", floats, "", withFloat(func(f float64) bulwark.Policy { return retry.New(retry.WithBudget(budget.NewRatio(f, 10))) }), nil},
		{"budget", "NewRatio", floats, "0 1e-12", withFloat(func(f float64) bulwark.Policy { return retry.New(retry.WithBudget(budget.NewRatio(0.1, f))) }), nil},

		// hedge
		{"hedge", "WithDelay", durations, "1ns MaxInt64", withDuration(func(d time.Duration) bulwark.Policy { return hedge.New(hedge.WithDelay(d)) }), nil},
		{"hedge", "WithMaxHedges", ints, "", withInt(func(n int) bulwark.Policy { return hedge.New(hedge.WithMaxHedges(n)) }), nil},
		{"hedge", "WithLatencyQuantile", floats, "1e-12", withFloat(func(q float64) bulwark.Policy {
			return hedge.New(hedge.WithLatencyQuantile(q, 8, time.Millisecond))
		}), nil},
		{"hedge", "WithLatencyQuantile", ints, "", withInt(func(n int) bulwark.Policy {
			return hedge.New(hedge.WithLatencyQuantile(0.9, n, time.Millisecond))
		}), nil},
		{"hedge", "WithLatencyQuantile", durations, "1ns MaxInt64", withDuration(func(d time.Duration) bulwark.Policy {
			return hedge.New(hedge.WithLatencyQuantile(0.9, 8, d))
		}), nil},

		// bulkhead
		{"bulkhead", "New", ints, "MaxInt64", withInt(func(n int) bulwark.Policy { return bulkhead.New(n) }), nil},
		{"bulkhead", "WithMaxQueue", ints, "0 MaxInt64", withInt(func(n int) bulwark.Policy { return bulkhead.New(1, bulkhead.WithMaxQueue(n)) }), nil},
		{"bulkhead", "WithMaxWait", durations, "1ns MaxInt64", withDuration(func(d time.Duration) bulwark.Policy {
			return bulkhead.New(1, bulkhead.WithMaxQueue(4), bulkhead.WithMaxWait(d))
		}), nil},
		{"bulkhead", "AIMD", floats, "", withFloat(func(f float64) bulwark.Policy { return bulkhead.NewAdaptive(bulkhead.AIMD(f, time.Second)) }), nil},
		{"bulkhead", "AIMD", durations, "1ns MaxInt64", withDuration(func(d time.Duration) bulwark.Policy { return bulkhead.NewAdaptive(bulkhead.AIMD(0.9, d)) }), nil},
		{"bulkhead", "Gradient2", floats, "", withFloat(func(f float64) bulwark.Policy { return bulkhead.NewAdaptive(bulkhead.Gradient2(f)) }), nil},
		{"bulkhead", "WithLimits", ints, "", withInt(func(n int) bulwark.Policy {
			return bulkhead.NewAdaptive(bulkhead.Vegas(), bulkhead.WithLimits(n, 1000))
		}), nil},
		{"bulkhead", "WithLimits", ints, "MaxInt64", withInt(func(n int) bulwark.Policy { return bulkhead.NewAdaptive(bulkhead.Vegas(), bulkhead.WithLimits(1, n)) }), nil},
		{"bulkhead", "WithInitialLimit", ints, "", withInt(func(n int) bulwark.Policy {
			return bulkhead.NewAdaptive(bulkhead.Vegas(), bulkhead.WithInitialLimit(n))
		}), nil},
		{"bulkhead", "WithInitialLimit", ints, "MaxInt64", withInt(func(n int) bulwark.Policy {
			return bulkhead.NewAdaptive(bulkhead.Vegas(), bulkhead.WithLimits(1, math.MaxInt), bulkhead.WithInitialLimit(n))
		}), nil},
		{"bulkhead", "WithSampleWindow", durations, "1ns MaxInt64", withDuration(func(d time.Duration) bulwark.Policy {
			return bulkhead.NewAdaptive(bulkhead.Gradient2(1.5), bulkhead.WithSampleWindow(d))
		}), nil},

		// throttle
		{"throttle", "WithK", floats, "MaxInt64 MaxFloat64", withFloat(func(k float64) bulwark.Policy { return throttle.New(throttle.WithK(k)) }), nil},
		{"throttle", "WithWindow", durations, "MaxInt64", withDuration(func(d time.Duration) bulwark.Policy { return throttle.New(throttle.WithWindow(d)) }), nil},
		{"throttle", "WithMaxRejection", floats, "1e-12", withFloat(func(p float64) bulwark.Policy { return throttle.New(throttle.WithMaxRejection(p)) }), nil},

		// ratelimit
		{"ratelimit", "New", floats, "0 +Inf 1e-12 MaxInt64 MaxFloat64", withFloat(func(f float64) bulwark.Policy { return ratelimit.New(rate.Limit(f), 1) }), nil},
		{"ratelimit", "New", ints, "MaxInt64", withInt(func(n int) bulwark.Policy { return ratelimit.New(10, n) }), nil},
		{"ratelimit", "WithMaxWait", durations, "1ns MaxInt64", withDuration(func(d time.Duration) bulwark.Policy { return ratelimit.New(1, 1, ratelimit.WithMaxWait(d)) }), nil},
		{"ratelimit", "NewKeyed", floats, "0 +Inf 1e-12 MaxInt64 MaxFloat64", withFloat(func(f float64) bulwark.Policy { return ratelimit.NewKeyed(rate.Limit(f), 1, keyOf) }), nil},
		{"ratelimit", "NewKeyed", ints, "MaxInt64", withInt(func(n int) bulwark.Policy { return ratelimit.NewKeyed(10, n, keyOf) }), nil},
		{"ratelimit", "WithMaxKeys", ints, "MaxInt64", withInt(func(n int) bulwark.Policy { return ratelimit.NewKeyed(10, 1, keyOf, ratelimit.WithMaxKeys(n)) }), nil},
		{"ratelimit", "WithIdleExpiry", durations, "1ns MaxInt64", withDuration(func(d time.Duration) bulwark.Policy {
			return ratelimit.NewKeyed(10, 1, keyOf, ratelimit.WithIdleExpiry(d))
		}), nil},
		{"ratelimit", "NewSlidingWindow", ints, "MaxInt64", withInt(func(n int) bulwark.Policy { return ratelimit.NewSlidingWindow(n, time.Second) }), nil},
		{"ratelimit", "NewSlidingWindow", durations, "1ns MaxInt64", withDuration(func(d time.Duration) bulwark.Policy { return ratelimit.NewSlidingWindow(10, d) }), nil},

		// timeout
		{"timeout", "New", durations, "1ns MaxInt64", withDuration(func(d time.Duration) bulwark.Policy { return timeout.New(d) }), nil},
		{"timeout", "New", durations, "1ns MaxInt64", withDuration(func(d time.Duration) bulwark.Policy { return timeout.New(d, timeout.WithAbandon()) }), nil},
		{"timeout", "WithDurationFunc", durations, "0 -1ns 1ns MinInt64 MaxInt64", withDuration(func(d time.Duration) bulwark.Policy {
			return timeout.New(time.Second, timeout.WithDurationFunc(func(context.Context) time.Duration { return d }))
		}), nil},

		// chaos, enabled for every call; coalesce; operate
		{"chaos", "WithError", floats, "0 1e-12", withFloat(func(f float64) bulwark.Policy { return enabled(chaos.WithError(f, errDep)) }), nil},
		{"chaos", "WithPanic", floats, "0 1e-12", withFloat(func(f float64) bulwark.Policy { return enabled(chaos.WithPanic(f)) }), nil},
		{"chaos", "WithOutcome", floats, "0 1e-12", withFloat(func(f float64) bulwark.Policy {
			return enabled(chaos.WithOutcome(f, func(context.Context, error) error { return errDep }))
		}), nil},
		{"chaos", "WithLatency", floats, "0 1e-12", withFloat(func(f float64) bulwark.Policy {
			return enabled(chaos.WithLatency(f, time.Second, 0))
		}), nil},
		{"chaos", "WithLatency", durations, "1ns MaxInt64", withDuration(func(d time.Duration) bulwark.Policy {
			return enabled(chaos.WithLatency(1, d, 0))
		}), delayed},
		{"chaos", "WithLatency", durations, "0 1ns", withDuration(func(d time.Duration) bulwark.Policy {
			return enabled(chaos.WithLatency(1, time.Millisecond, d))
		}), delayed},
		{"coalesce", "WithStaleWhileRevalidate", durations, "1ns MaxInt64", withDuration(func(d time.Duration) bulwark.Policy {
			return coalesce.New(keyOf, coalesce.WithStaleWhileRevalidate(d, func(context.Context, string) (string, time.Time, bool) {
				return "stale", time.Now().Add(-time.Hour), true
			}))
		}), nil},
		{"operate", "WithInterval", durations, "", withDuration(func(d time.Duration) bulwark.Policy {
			operate.Handler(operate.NewRegistry(), operate.WithInterval(d))
			return retry.New()
		}), nil},
	}
	return append(append(append(rows, setterRows()...), middlewareAuditRows(t)...), redisAuditRows(t)...)
}

// setterRows audit the run-time setters of the token bucket, which return
// an error rather than panic: the row's policy panics with the error, so
// that a rejection reads as a construction's.
func setterRows() []auditRow {
	set := func(change func(l *ratelimit.Limiter) error) bulwark.Policy {
		l := ratelimit.New(10, 5)
		if err := change(l); err != nil {
			panic(err.Error())
		}
		return l
	}
	return []auditRow{
		{"ratelimit", "SetLimit", floats, "0 +Inf 1e-12 MaxInt64 MaxFloat64", withFloat(func(f float64) bulwark.Policy {
			return set(func(l *ratelimit.Limiter) error { return l.SetLimit(rate.Limit(f)) })
		}), nil},
		{"ratelimit", "SetBurst", ints, "MaxInt64", withInt(func(n int) bulwark.Policy {
			return set(func(l *ratelimit.Limiter) error { return l.SetBurst(n) })
		}), nil},
	}
}

// middlewareAuditRows audit the middlewares' numeric options; an accepted
// value is tried through a real loopback server.
func middlewareAuditRows(t *testing.T) []auditRow {
	var (
		once sync.Once
		srv  *httptest.Server
		base *http.Transport
	)
	t.Cleanup(func() {
		if srv != nil {
			base.CloseIdleConnections()
			srv.Close()
		}
	})
	server := func() (*httptest.Server, *http.Transport) {
		once.Do(func() {
			srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusServiceUnavailable)
			}))
			base = &http.Transport{}
		})
		return srv, base
	}
	// transport builds a Transport with opt and returns it as a policy
	// whose calls are requests.
	transport := func(opts ...bulwarkhttp.Option) bulwark.Policy {
		p := retry.New(retry.WithDelay(0))
		rt := bulwarkhttp.Transport(nil, p, opts...)
		return requestPolicy{rt: rt, server: server}
	}
	middleware := func(opts ...bulwarkhttp.Option) bulwark.Policy {
		bulwarkhttp.Middleware(retry.New(), opts...)
		return retry.New()
	}
	viaServer := func(t *testing.T, _ any, build func() bulwark.Policy) {
		p := build()
		if rp, ok := p.(requestPolicy); ok {
			rp.roundTrip(t)
		}
	}
	return []auditRow{
		{"bulwarkhttp", "WithTimeoutStatus", ints, "", withInt(func(n int) bulwark.Policy { return middleware(bulwarkhttp.WithTimeoutStatus(n)) }), nil},
		{"bulwarkhttp", "WithMaxRetryAfter", durations, "1ns MaxInt64", withDuration(func(d time.Duration) bulwark.Policy { return transport(bulwarkhttp.WithMaxRetryAfter(d)) }), viaServer},
		{"bulwarkhttp", "WithAttemptTimeout", durations, "1ns MaxInt64", withDuration(func(d time.Duration) bulwark.Policy { return transport(bulwarkhttp.WithAttemptTimeout(d)) }), viaServer},
		{"bulwarkhttp", "WithTotalTimeout", durations, "1ns MaxInt64", withDuration(func(d time.Duration) bulwark.Policy { return transport(bulwarkhttp.WithTotalTimeout(d)) }), viaServer},
		{"bulwarkhttp", "WithHostPolicy", ints, "MaxInt64", withInt(func(n int) bulwark.Policy {
			return transport(bulwarkhttp.WithHostPolicy(n, func(string) bulwark.Policy { return breaker.New() }))
		}), viaServer},
		{"bulwarkhttp", "NewPerKey", ints, "MaxInt64", withInt(func(n int) bulwark.Policy {
			return bulwarkhttp.NewPerKey(n, func(string) bulwark.Policy { return breaker.New() })
		}), nil},
		{"bulwarkgrpc", "WithMaxReplay", ints, "0 MaxInt64", withInt(func(n int) bulwark.Policy {
			bulwarkgrpc.StreamClientInterceptor(retry.New(), bulwarkgrpc.WithMaxReplay(n))
			return retry.New()
		}), nil},
		{"bulwarkgrpc", "WithFailureCodes", grpcCodes, "", func(v any) bulwark.Policy {
			bulwarkgrpc.UnaryClientInterceptor(retry.New(), bulwarkgrpc.WithFailureCodes(v.(codes.Code)))
			return retry.New()
		}, nil},
	}
}

// requestPolicy stands for a Transport in the audit: building it is the
// construction, and a request through it the call.
type requestPolicy struct {
	rt     http.RoundTripper
	server func() (*httptest.Server, *http.Transport)
}

func (requestPolicy) Execute(ctx context.Context, fn func(context.Context) error) error {
	return fn(ctx)
}

func (p requestPolicy) roundTrip(t *testing.T) {
	srv, _ := p.server()
	// Shorter than the server's Retry-After of a second: a hint that is
	// not capped below it makes the retry give up at once.
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	resp, err := p.rt.RoundTrip(req)
	if err == nil {
		resp.Body.Close()
		require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	}
}

// redisAuditRows audit the Redis-backed packages. Construction needs no
// server; an accepted value is tried against a real redis-server, and the
// rows skip without one (and fail under CI=true, as redistest does).
func redisAuditRows(t *testing.T) []auditRow {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialled: construction only
	t.Cleanup(func() { _ = client.Close() })
	// One server serves every row; without redis-server, each row that
	// needs it skips (or fails under CI) as redistest says.
	var (
		once   sync.Once
		shared *redis.Client
	)
	live := func(rt *testing.T) *redis.Client {
		if redistest.Binary() == "" {
			redistest.Start(rt)
		}
		once.Do(func() { shared = redistest.Start(t).Client(t) })
		require.NoError(rt, shared.FlushAll(rt.Context()).Err(), "each row starts from an empty Redis")
		return shared
	}
	limiter := func(limit rate.Limit, burst int, opts ...redislimit.Option) func(t *testing.T, c *redis.Client) bulwark.Policy {
		return func(t *testing.T, c *redis.Client) bulwark.Policy { return redislimit.New(c, limit, burst, opts...) }
	}
	row := func(option string, kind audited, accept string, make func(v any) func(t *testing.T, c *redis.Client) bulwark.Policy) auditRow {
		return auditRow{"redislimit", option, kind, accept,
			func(v any) bulwark.Policy { return make(v)(t, client) },
			func(t *testing.T, v any, _ func() bulwark.Policy) {
				// The value is tried on the real server, outside a bubble:
				// the client's connections are not the bubble's.
				p := make(v)(t, live(t))
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
				defer cancel()
				require.NoError(t, p.Execute(ctx, testutil.Nop))
				_ = p.Execute(ctx, testutil.Fail)
			}}
	}
	rows := []auditRow{
		row("New", floats, "+Inf MaxFloat64", func(v any) func(*testing.T, *redis.Client) bulwark.Policy { return limiter(rate.Limit(v.(float64)), 1) }),
		row("New", ints, "", func(v any) func(*testing.T, *redis.Client) bulwark.Policy { return limiter(10, v.(int)) }),
		row("WithLocalShare", floats, "1e-12", func(v any) func(*testing.T, *redis.Client) bulwark.Policy {
			return limiter(10, 1, redislimit.WithLocalShare(v.(float64)))
		}),
		row("WithTimeout", durations, "1ns MaxInt64", func(v any) func(*testing.T, *redis.Client) bulwark.Policy {
			return limiter(10, 1, redislimit.WithTimeout(v.(time.Duration)))
		}),
		row("WithLease", ints, "MaxInt64", func(v any) func(*testing.T, *redis.Client) bulwark.Policy {
			return limiter(10, 1, redislimit.WithLease(v.(int)))
		}),
	}
	store := func(option string, accept string, opt func(time.Duration) redisstore.Option) auditRow {
		return auditRow{"redisstore", option, durations, accept,
			func(v any) bulwark.Policy {
				s := redisstore.New(client, opt(v.(time.Duration)))
				_ = s.Close()
				return breaker.New()
			},
			func(t *testing.T, v any, _ func() bulwark.Policy) {
				s := redisstore.New(live(t), opt(v.(time.Duration)))
				defer s.Close()
				b := breaker.New(breaker.WithName("audit"), breaker.WithStore(s))
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
				defer cancel()
				require.NoError(t, b.Execute(ctx, testutil.Nop))
				for range 6 {
					_ = b.Execute(ctx, testutil.Fail)
				}
			}}
	}
	// A sync interval is at least redisstore.MinSyncInterval (1ms).
	return append(rows, store("WithSyncInterval", "MaxInt64", redisstore.WithSyncInterval), store("WithTimeout", "1ns MaxInt64", redisstore.WithTimeout))
}
