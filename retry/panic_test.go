package retry_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/budget"
	"github.com/bulwark-go/bulwark/hedge"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A panic goes through unchanged, on the first attempt or on a retry,
// with a budget or without; nothing is left behind (goleak, and the
// synctest bubble, would see a timer's goroutine or a sleeper).
func TestPanicsGoThroughUnchanged(t *testing.T) {
	type boom struct{ n int }
	for _, at := range []int{1, 2, 3} {
		synctest.Test(t, func(t *testing.T) {
			b := budget.NewToken(10, 0.1)
			r := retry.New(retry.WithDelay(10*time.Millisecond), retry.WithBudget(b))
			calls := 0
			v := testutil.Recovered(func() {
				_ = r.Execute(context.Background(), func(context.Context) error {
					calls++
					if calls == at {
						panic(boom{at})
					}
					return testutil.ErrDep
				})
			})
			assert.Equal(t, boom{at}, v, "attempt %d", at)
			assert.Equal(t, at, calls)
			assert.Equal(t, 10.0-float64(at-1), b.Tokens(), "the failures before the panic were recorded, the panic was not")
		})
	}
}

// A hedge inside a retry raises its attempt's panic on the caller's
// goroutine; the retry passes it on.
func TestAPanicInAHedgeInsideARetryReachesTheCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		p := bulwark.New(retry.New(retry.WithDelay(0)), hedge.New(hedge.WithDelay(10*time.Millisecond)))
		v := testutil.Recovered(func() {
			_ = p.Execute(context.Background(), func(ctx context.Context) error {
				switch calls.Add(1) {
				case 1:
					return testutil.ErrDep // the first retry attempt fails at once, and launches a hedge at once
				case 2:
					return testutil.ErrDep
				case 3:
					<-ctx.Done() // the second attempt's primary, cancelled by the panic
					return ctx.Err()
				default:
					panic("hedge")
				}
			})
		})
		assert.Equal(t, "hedge", v)
		assert.Equal(t, int32(4), calls.Load())
	})
}

// The caller's cancellation ends the call at every point: before the
// first attempt, during an attempt, during a wait, during a retry.
func TestCancellationAtEveryPoint(t *testing.T) {
	cases := []struct {
		name     string
		cancelAt time.Duration // after the start; 0: before Execute
		want     int           // attempts made
	}{
		{"before the call", 0, 1},
		{"during the first attempt", 5 * time.Millisecond, 1},
		{"during the first wait", 15 * time.Millisecond, 1},
		{"during the second attempt", 25 * time.Millisecond, 2},
		{"during the second wait", 35 * time.Millisecond, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				if tc.cancelAt == 0 {
					cancel()
				} else {
					time.AfterFunc(tc.cancelAt, cancel)
				}
				calls := 0
				r := retry.New(retry.WithDelay(10*time.Millisecond), retry.WithMaxAttempts(5))
				err := r.Execute(ctx, func(ctx context.Context) error {
					calls++
					select {
					case <-time.After(10 * time.Millisecond):
						return testutil.ErrDep
					case <-ctx.Done():
						return ctx.Err()
					}
				})
				assert.Equal(t, context.Canceled, err)
				assert.Equal(t, tc.want, calls)
				cancel()
			})
		})
	}
}

// Many goroutines share a retry and its budget: the budget's bound holds
// and every call ends.
func TestManyGoroutinesShareARetryAndItsBudget(t *testing.T) {
	b := budget.NewRatio(0.1, 0)
	r := retry.New(retry.WithDelay(0), retry.WithMaxAttempts(3), retry.WithBudget(b))
	var calls atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 250 {
				err := r.Execute(context.Background(), func(context.Context) error { calls.Add(1); return testutil.ErrDep })
				require.ErrorIs(t, err, testutil.ErrDep)
			}
		})
	}
	wg.Wait()
	extras := calls.Load() - 4000
	assert.LessOrEqual(t, extras, int64(400), "a tenth of 4000 calls")
	assert.GreaterOrEqual(t, extras, int64(390))
}
