package reliability_test

import (
	"context"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/budget"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/chaos"
	"github.com/bulwark-go/bulwark/coalesce"
	"github.com/bulwark-go/bulwark/fallback"
	"github.com/bulwark-go/bulwark/hedge"
	"github.com/bulwark-go/bulwark/internal/outcome"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/throttle"
	"github.com/bulwark-go/bulwark/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// The panic matrix holds every policy to the promise of the root package's
// doc: a panic in the protected function is re-raised to the caller
// unchanged, once, after every policy has released what it holds, and
// leaves behind no goroutine and no timer.
//
// "Leaves the policy as before" is judged against a twin: the same policy,
// built and driven the same way on the same virtual clock, whose call
// returns, where the subject's panics, the outcome the table gives a panic
// in that policy. For the pass-through policies (bulkhead, timeout,
// fallback, rate limiters) that is a plain success, and the subject must
// also read exactly as it did before the call, but for the token a rate
// limiter gave it. A breaker counts a panic as a failure; the throttler
// and the adaptive bulkhead ignore it; a retry or a hedge stops on it as
// on an answer that ends the call. Every observable reading is compared:
// Status, Snapshot, and State, Probability, Limit, Delay, Len where the
// type has them; then a day passes on the virtual clock and they are
// compared again, so that a timer the panic left armed shows.

// boom is what the protected functions panic with: a pointer, so that
// "unchanged" is identity.
type boom struct{ row string }

// step is what one invocation of the protected function does: wait (for
// the virtual clock), or block until its context ends, then panic or
// return err.
type step struct {
	wait      time.Duration
	untilDone bool
	panics    bool
	err       error
}

func panics() step                     { return step{panics: true} }
func panicsAfter(d time.Duration) step { return step{wait: d, panics: true} }
func fails(err error) step             { return step{err: err} }
func blocks() step                     { return step{untilDone: true} }

// script is the protected function of one call: its nth invocation does
// steps[n-1], where the twin's panic is replaced by twin.
type script struct {
	steps []step
	twin  error // returned instead of the panic, for the twin
	value *boom
	n     atomic.Int32
}

// errUnscripted is returned by an invocation beyond the script: one the
// policy should not have made.
var errUnscripted = errors.New("an invocation beyond the script")

func (s *script) fn(ctx context.Context) error {
	n := int(s.n.Add(1))
	if n > len(s.steps) {
		return errUnscripted
	}
	st := s.steps[n-1]
	if st.wait > 0 {
		time.Sleep(st.wait)
	}
	if st.untilDone {
		<-ctx.Done()
		return ctx.Err()
	}
	if st.panics {
		if s.value == nil {
			return s.twin
		}
		panic(s.value)
	}
	return st.err
}

// policyRow is one line of the matrix.
type policyRow struct {
	name string
	// build returns a new policy and the values whose readings make its
	// state (the policy itself, or a pipeline's policies).
	build func() (bulwark.Policy, []any)
	// prepare drives the subject and the twin, together, into the state
	// before the call.
	prepare func(t *testing.T, ps []bulwark.Policy)
	steps   []step
	// twin is what the twin's invocation returns instead of panicking.
	twin error
	// unchanged: the subject must read after the call exactly as before.
	unchanged bool
	// call runs the call; default p.Execute.
	call func(t *testing.T, ctx context.Context, p bulwark.Policy, fn func(context.Context) error) error
}

var errDep = testutil.ErrDep

func TestPanicMatrix(t *testing.T) {
	for _, r := range policyRows() {
		t.Run(r.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { runPanicRow(t, r) })
			goleak.VerifyNone(t)
		})
	}
}

func runPanicRow(t *testing.T, r policyRow) {
	subject, subjectParts := r.build()
	twin, twinParts := r.build()
	if r.prepare != nil {
		r.prepare(t, []bulwark.Policy{subject, twin})
	}
	synctest.Wait()
	before := readings(subjectParts)
	base := bubbleGoroutines()
	require.Positive(t, base, "the stack dump shows the bubble's goroutines")

	call := r.call
	if call == nil {
		call = func(_ *testing.T, ctx context.Context, p bulwark.Policy, fn func(context.Context) error) error {
			return p.Execute(ctx, fn)
		}
	}
	value := &boom{row: r.name}
	ss := &script{steps: r.steps, value: value}
	ts := &script{steps: r.steps, twin: r.twin}
	var (
		wg        sync.WaitGroup
		recovered any
		returned  bool
	)
	// The subject and the twin run side by side, so that they see the
	// same instants of the virtual clock.
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer func() { recovered = recover() }()
		_ = call(t, t.Context(), subject, ss.fn)
		returned = true
	}()
	go func() {
		defer wg.Done()
		_ = call(t, t.Context(), twin, ts.fn)
	}()
	wg.Wait()

	// Asserts, not requires: a failed check must not end the bubble's
	// main goroutine while others still sleep on its clock.
	assert.False(t, returned, "the panic must reach the caller, not become an error")
	assert.True(t, recovered == any(value), "the caller must get the panic's own value, got %#v", recovered)
	assert.Equal(t, int32(len(r.steps)), ss.n.Load(), "every scripted invocation ran, and none after the panic")
	assert.Equal(t, int32(len(r.steps)), ts.n.Load(), "the twin ran its script")

	synctest.Wait()
	assert.Equal(t, base, bubbleGoroutines(), "no goroutine outlives the call")
	after := readings(subjectParts)
	assert.Equal(t, readings(twinParts), after, "the policy reads as after the outcome the table gives a panic")
	if r.unchanged {
		assert.Equal(t, before, after, "the policy reads as before the call")
	}

	// A timer left armed by the panic would change the subject, not the
	// twin, as time passes.
	time.Sleep(24 * time.Hour)
	synctest.Wait()
	assert.Equal(t, readings(twinParts), readings(subjectParts), "a day later, the policy still reads as the twin")
	assert.Equal(t, base, bubbleGoroutines())
}

// readings returns what every part says of itself through the methods
// bulwark's policies read by: Status and Snapshot, and State,
// Probability, Limit, Delay and Len where a type has them.
func readings(parts []any) []map[string]any {
	out := make([]map[string]any, len(parts))
	for i, p := range parts {
		m := map[string]any{}
		v := reflect.ValueOf(p)
		for _, name := range []string{"Status", "Snapshot", "State", "Probability", "Limit", "Delay", "Len"} {
			meth := v.MethodByName(name)
			if !meth.IsValid() || meth.Type().NumIn() != 0 || meth.Type().NumOut() != 1 {
				continue
			}
			m[name] = meth.Call(nil)[0].Interface()
		}
		if k, ok := p.(*ratelimit.Keyed); ok {
			tokens, known := k.Tokens(key)
			m["Tokens"] = [2]any{tokens, known}
		}
		out[i] = m
	}
	return out
}

// bubbleGoroutines counts the goroutines of the calling goroutine's
// synctest bubble.
func bubbleGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		header, _, _ := strings.Cut(g, "\n")
		if strings.Contains(header, "synctest bubble") {
			count++
		}
	}
	return count
}

const key = "tenant"

func keyOf(context.Context) string { return key }

// each runs f on every policy of a prepare.
func each(ps []bulwark.Policy, f func(p bulwark.Policy)) {
	for _, p := range ps {
		f(p)
	}
}

func one(p bulwark.Policy) (bulwark.Policy, []any) { return p, []any{p} }

func policyRows() []policyRow {
	failN := func(n int) func(t *testing.T, ps []bulwark.Policy) {
		return func(t *testing.T, ps []bulwark.Policy) {
			each(ps, func(p bulwark.Policy) {
				for range n {
					_ = p.Execute(t.Context(), testutil.Fail)
				}
			})
		}
	}
	return []policyRow{
		{
			name:  "breaker/closed",
			build: func() (bulwark.Policy, []any) { return one(breaker.New()) },
			steps: []step{panics()}, twin: errDep,
		},
		{
			name: "breaker/closed with a window",
			build: func() (bulwark.Policy, []any) {
				return one(breaker.New(breaker.WithFailureRatio(0.5), breaker.WithCountWindow(10), breaker.WithMinimumCalls(4)))
			},
			prepare: func(t *testing.T, ps []bulwark.Policy) {
				each(ps, func(p bulwark.Policy) { _ = p.Execute(t.Context(), testutil.Nop) })
			},
			steps: []step{panics()}, twin: errDep,
		},
		{
			name:    "breaker/the failure that trips it",
			build:   func() (bulwark.Policy, []any) { return one(breaker.New(breaker.WithConsecutiveFailures(3))) },
			prepare: failN(2),
			steps:   []step{panics()}, twin: errDep,
		},
		{
			name:  "breaker/half-open probe",
			build: func() (bulwark.Policy, []any) { return one(breaker.New(breaker.WithOpenDuration(time.Minute))) },
			prepare: func(t *testing.T, ps []bulwark.Policy) {
				failN(5)(t, ps)
				time.Sleep(time.Minute)
				synctest.Wait()
				each(ps, func(p bulwark.Policy) { require.Equal(t, breaker.HalfOpen, p.(*breaker.Breaker).State()) })
			},
			steps: []step{panics()}, twin: errDep,
		},
		{
			name: "breaker/one of three half-open probes",
			build: func() (bulwark.Policy, []any) {
				return one(breaker.New(breaker.WithOpenDuration(time.Minute), breaker.WithHalfOpenProbes(3), breaker.WithHalfOpenSuccesses(2)))
			},
			prepare: func(t *testing.T, ps []bulwark.Policy) {
				failN(5)(t, ps)
				time.Sleep(time.Minute)
				synctest.Wait()
			},
			steps: []step{panics()}, twin: errDep,
		},
		{
			name: "retry/first attempt",
			build: func() (bulwark.Policy, []any) {
				return one(retry.New(retry.WithDelay(10*time.Millisecond), retry.WithBudget(budget.NewToken(10, 0.5))))
			},
			steps: []step{panics()}, twin: bulwark.Permanent(errDep), unchanged: true,
		},
		{
			name: "retry/on a retry",
			build: func() (bulwark.Policy, []any) {
				return one(retry.New(retry.WithDelay(10*time.Millisecond), retry.WithBudget(budget.NewToken(10, 0.5))))
			},
			steps: []step{fails(errDep), panics()}, twin: bulwark.Permanent(errDep),
		},
		{
			name: "retry/on the last retry, backoff and ratio budget",
			build: func() (bulwark.Policy, []any) {
				return one(retry.New(retry.WithMaxAttempts(3), retry.WithMaxDuration(time.Minute),
					retry.WithExponentialBackoff(10*time.Millisecond, 2, time.Second), retry.WithBudget(budget.NewRatio(0.5, 10))))
			},
			steps: []step{fails(errDep), fails(errDep), panics()}, twin: bulwark.Permanent(errDep),
		},
		{
			name:  "hedge/primary, before the delay",
			build: func() (bulwark.Policy, []any) { return one(hedge.New(hedge.WithDelay(10 * time.Millisecond))) },
			steps: []step{panics()}, twin: bulwark.Permanent(errDep), unchanged: true,
		},
		{
			name:  "hedge/primary, while a hedge runs",
			build: func() (bulwark.Policy, []any) { return one(hedge.New(hedge.WithDelay(10 * time.Millisecond))) },
			steps: []step{panicsAfter(20 * time.Millisecond), blocks()}, twin: bulwark.Permanent(errDep),
		},
		{
			name:  "hedge/in a hedge",
			build: func() (bulwark.Policy, []any) { return one(hedge.New(hedge.WithDelay(10 * time.Millisecond))) },
			steps: []step{blocks(), panics()}, twin: bulwark.Permanent(errDep),
		},
		{
			name: "hedge/in the hedge a failure launched, with a budget and a latency tracker",
			build: func() (bulwark.Policy, []any) {
				return one(hedge.New(hedge.WithDelay(10*time.Millisecond), hedge.WithMaxHedges(2),
					hedge.WithBudget(budget.NewToken(10, 0.5)), hedge.WithLatencyQuantile(0.9, 8, 5*time.Millisecond)))
			},
			steps: []step{blocks(), fails(errDep), panics()}, twin: bulwark.Permanent(errDep),
		},
		{
			name:  "bulkhead/with a free permit",
			build: func() (bulwark.Policy, []any) { return one(bulkhead.New(1)) },
			steps: []step{panics()}, unchanged: true,
		},
		{
			name: "bulkhead/queued",
			build: func() (bulwark.Policy, []any) {
				return one(bulkhead.New(1, bulkhead.WithMaxQueue(1), bulkhead.WithMaxWait(time.Minute)))
			},
			steps: []step{panics()}, unchanged: true,
			call: queuedBehindAHolder,
		},
		{
			name: "bulkhead/adaptive, on the sample that completes a window",
			build: func() (bulwark.Policy, []any) {
				return one(bulkhead.NewAdaptive(bulkhead.AIMD(0.5, time.Second), bulkhead.WithInitialLimit(10), bulkhead.WithSampleWindow(time.Second)))
			},
			prepare: func(t *testing.T, ps []bulwark.Policy) {
				failN(9)(t, ps)
				time.Sleep(2 * time.Second)
			},
			steps: []step{panics()}, twin: testutil.ErrRejected, unchanged: true,
		},
		{
			name: "bulkhead/adaptive, queued",
			build: func() (bulwark.Policy, []any) {
				return one(bulkhead.NewAdaptive(bulkhead.AIMD(0.5, time.Second), bulkhead.WithLimits(1, 1),
					bulkhead.WithMaxQueue(1), bulkhead.WithMaxWait(time.Minute)))
			},
			steps: []step{panics()}, twin: testutil.ErrRejected, unchanged: true,
			call: queuedBehindAHolder,
		},
		{
			name:  "throttle",
			build: func() (bulwark.Policy, []any) { return one(throttle.New()) },
			// One accept in two requests: K = 2 rejects nothing yet, but
			// one more request that is not accepted would.
			prepare: func(t *testing.T, ps []bulwark.Policy) {
				each(ps, func(p bulwark.Policy) {
					_ = p.Execute(t.Context(), testutil.Nop)
					_ = p.Execute(t.Context(), testutil.Fail)
					require.Zero(t, p.(*throttle.Throttler).Probability())
				})
			},
			steps: []step{panics()}, twin: testutil.ErrRejected, unchanged: true,
		},
		{
			name:  "ratelimit/token bucket",
			build: func() (bulwark.Policy, []any) { return one(ratelimit.New(10, 2)) },
			steps: []step{panics()},
		},
		{
			name:  "ratelimit/token bucket, after waiting for its token",
			build: func() (bulwark.Policy, []any) { return one(ratelimit.New(1, 1, ratelimit.WithMaxWait(2*time.Second))) },
			prepare: func(t *testing.T, ps []bulwark.Policy) {
				each(ps, func(p bulwark.Policy) { require.NoError(t, p.Execute(t.Context(), testutil.Nop)) })
			},
			steps: []step{panics()},
		},
		{
			name: "ratelimit/keyed, after waiting for its token",
			build: func() (bulwark.Policy, []any) {
				return one(ratelimit.NewKeyed(1, 1, keyOf, ratelimit.WithMaxWait(2*time.Second)))
			},
			prepare: func(t *testing.T, ps []bulwark.Policy) {
				each(ps, func(p bulwark.Policy) { require.NoError(t, p.Execute(t.Context(), testutil.Nop)) })
			},
			steps: []step{panics()},
		},
		{
			name:  "ratelimit/sliding window",
			build: func() (bulwark.Policy, []any) { return one(ratelimit.NewSlidingWindow(5, time.Second)) },
			steps: []step{panics()},
		},
		{
			name:  "timeout",
			build: func() (bulwark.Policy, []any) { return one(timeout.New(time.Second)) },
			steps: []step{panicsAfter(10 * time.Millisecond)}, unchanged: true,
		},
		{
			name:  "timeout/under a caller's earlier deadline",
			build: func() (bulwark.Policy, []any) { return one(timeout.New(time.Hour)) },
			steps: []step{panics()}, unchanged: true,
			call: func(_ *testing.T, ctx context.Context, p bulwark.Policy, fn func(context.Context) error) error {
				ctx, cancel := context.WithTimeout(ctx, time.Minute)
				defer cancel()
				return p.Execute(ctx, fn)
			},
		},
		{
			name:  "timeout/WithAbandon",
			build: func() (bulwark.Policy, []any) { return one(timeout.New(time.Second, timeout.WithAbandon())) },
			steps: []step{panicsAfter(10 * time.Millisecond)}, unchanged: true,
		},
		{
			name:  "timeout/WithAbandon, at once",
			build: func() (bulwark.Policy, []any) { return one(timeout.New(time.Second, timeout.WithAbandon())) },
			steps: []step{panics()}, unchanged: true,
		},
		{
			name: "fallback",
			build: func() (bulwark.Policy, []any) {
				return one(fallback.New(func(context.Context, error) error { return nil }))
			},
			steps: []step{panics()}, unchanged: true,
		},
		{
			name:  "coalesce/the leader",
			build: func() (bulwark.Policy, []any) { return one(coalesce.New(keyOf)) },
			steps: []step{panics()},
		},
		{
			name:  "coalesce/the leader, with a caller waiting for it",
			build: func() (bulwark.Policy, []any) { return one(coalesce.New(keyOf)) },
			steps: []step{panicsAfter(10 * time.Millisecond)},
			call:  withAWaiter,
		},
		{
			name: "chaos/after an injected delay",
			build: func() (bulwark.Policy, []any) {
				c := chaos.New(chaos.WithLatency(1, 10*time.Millisecond, 0))
				c.SetEnabled(true)
				return one(c)
			},
			steps: []step{panics()},
		},
		{
			name: "pipeline/on the retry, through every policy",
			build: func() (bulwark.Policy, []any) {
				parts := []bulwark.Policy{
					// Falls back on an open breaker only, so that the
					// twin's failure reaches the caller as the panic does.
					fallback.New(func(context.Context, error) error { return nil },
						fallback.WithHandleIf(func(err error) bool { return errors.Is(err, breaker.ErrOpen) })),
					ratelimit.New(100, 10),
					timeout.New(10 * time.Second),
					retry.New(retry.WithDelay(10*time.Millisecond), retry.WithBudget(budget.NewToken(10, 0.5))),
					breaker.New(),
					bulkhead.New(2, bulkhead.WithMaxQueue(2)),
					hedge.New(hedge.WithDelay(50 * time.Millisecond)),
					timeout.New(time.Second, timeout.WithAbandon()),
				}
				all := make([]any, len(parts))
				for i, p := range parts {
					all[i] = p
				}
				return bulwark.New(parts...), all
			},
			// The first attempt's primary and hedge fail, the retry's
			// primary panics. For the twin it fails in a way no policy
			// repeats but a breaker counts, as a panic.
			steps: []step{fails(errDep), fails(errDep), panics()}, twin: outcome.NoRetry(errDep),
		},
	}
}

// withAWaiter runs the call as the leader of a coalesced call that
// another caller joins: the waiter gets the leader's outcome, or, when the
// leader panics, a *coalesce.PanicError holding the very value.
func withAWaiter(t *testing.T, ctx context.Context, p bulwark.Policy, fn func(context.Context) error) error {
	var (
		wg     sync.WaitGroup
		waited error
	)
	wg.Go(func() {
		time.Sleep(time.Millisecond)
		waited = p.Execute(ctx, func(context.Context) error { return errUnscripted })
	})
	defer func() {
		wg.Wait()
		if waited != nil {
			var pe *coalesce.PanicError
			if assert.ErrorAs(t, waited, &pe, "the waiter gets the panic as an error") {
				_, isBoom := pe.Value.(*boom)
				assert.True(t, isBoom, "holding the panic's own value, got %#v", pe.Value)
			}
		}
	}()
	return p.Execute(ctx, fn)
}

// queuedBehindAHolder runs the call while another holds the policy's only
// permit for a second, so that the call queues, is granted the permit
// when the holder returns, and panics with it.
func queuedBehindAHolder(t *testing.T, ctx context.Context, p bulwark.Policy, fn func(context.Context) error) error {
	held := make(chan struct{})
	var queued int
	go func() {
		_ = p.Execute(ctx, func(context.Context) error {
			close(held)
			time.Sleep(time.Second)
			queued = p.(bulwark.Inspectable).Status().Queued
			return nil
		})
	}()
	<-held
	defer func() { assert.Equal(t, 1, queued, "the call waited in the queue") }()
	return p.Execute(ctx, fn)
}
