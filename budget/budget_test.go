package budget_test

import (
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark/budget"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// gRPC A6: failures take a token, successes give back the ratio, extra
// attempts need more than half the tokens.
func TestTokenFollowsTheDependencysHealth(t *testing.T) {
	b := budget.NewToken(10, 0.5)
	for range 5 {
		assert.True(t, b.TryRetry())
		b.RecordAttempt(false)
	}
	assert.Equal(t, 5.0, b.Tokens())
	assert.False(t, b.TryRetry(), "half the bucket is not more than half")
	b.RecordAttempt(true)
	assert.Equal(t, 5.5, b.Tokens())
	assert.True(t, b.TryRetry())
	assert.Equal(t, 5.5, b.Tokens(), "TryRetry takes nothing")
}

func TestTokenStaysWithinItsBounds(t *testing.T) {
	b := budget.NewToken(3, 1)
	for range 10 {
		b.RecordAttempt(true)
	}
	assert.Equal(t, 3.0, b.Tokens())
	for range 10 {
		b.RecordAttempt(false)
	}
	assert.Equal(t, 0.0, b.Tokens())
	assert.False(t, b.TryRetry())
	b.RecordRequest() // counts nothing
	assert.Equal(t, 0.0, b.Tokens())
}

// Fractions were truncated to thousandths: NewTokenBudget(0.0004, 1) held
// no token and never allowed a retry.
func TestTokenHoldsFractions(t *testing.T) {
	b := budget.NewToken(0.0004, 1)
	assert.Equal(t, 0.0004, b.Tokens())
	assert.True(t, b.TryRetry(), "a full bucket allows an extra attempt")
	b.RecordAttempt(false)
	assert.False(t, b.TryRetry())
	b.RecordAttempt(true)
	assert.True(t, b.TryRetry(), "a success refills it")

	small := budget.NewToken(10, 0.000001)
	small.RecordAttempt(false)
	for range 1000 {
		small.RecordAttempt(true)
	}
	assert.InDelta(t, 9.001, small.Tokens(), 1e-12, "a millionth per success, exactly")
}

func TestRatioAllowsAShareOfRequests(t *testing.T) {
	b := budget.NewRatio(0.5, 0)
	assert.False(t, b.TryRetry(), "empty at first")
	for range 10 {
		b.RecordRequest()
	}
	b.RecordAttempt(false) // counts nothing
	allowed := 0
	for b.TryRetry() {
		allowed++
	}
	assert.Equal(t, 5, allowed)

	for range 5000 {
		b.RecordRequest()
	}
	allowed = 0
	for b.TryRetry() {
		allowed++
	}
	assert.Equal(t, 500, allowed, "the reserve is capped at the deposits of 1000 requests")
}

// Fractions were truncated to thousandths: NewRatioBudget(0.0005, 0)
// deposited nothing.
func TestRatioHoldsFractions(t *testing.T) {
	b := budget.NewRatio(0.0005, 0)
	for range 1999 {
		b.RecordRequest()
	}
	assert.False(t, b.TryRetry())
	b.RecordRequest()
	assert.True(t, b.TryRetry(), "one extra attempt per 2000 requests")
	assert.False(t, b.TryRetry())

	tiny := budget.NewRatio(0.000001, 0)
	for range 1000 {
		tiny.RecordRequest()
	}
	assert.InDelta(t, 0.001, tiny.Tokens(), 1e-15)
}

func TestRatioMinimumRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := budget.NewRatio(0.1, 2)
		assert.True(t, b.TryRetry())
		assert.True(t, b.TryRetry())
		assert.False(t, b.TryRetry(), "two a second")
		time.Sleep(500 * time.Millisecond)
		assert.True(t, b.TryRetry())
		assert.False(t, b.TryRetry())

		slow := budget.NewRatio(0.1, 1e-9)
		assert.True(t, slow.TryRetry(), "a burst of one")
		time.Sleep(time.Hour)
		assert.False(t, slow.TryRetry())
	})
}

// The zero budgets are valid and allow nothing, as x/time/rate's zero
// Limiter does.
func TestZeroBudgetsAllowNothing(t *testing.T) {
	var tk budget.Token
	tk.RecordAttempt(true)
	tk.RecordAttempt(false)
	tk.RecordRequest()
	assert.False(t, tk.TryRetry())
	assert.Zero(t, tk.Tokens())

	var r budget.Ratio
	r.RecordRequest()
	r.RecordAttempt(true)
	assert.False(t, r.TryRetry())
	assert.Zero(t, r.Tokens())
}

func TestConcurrentUseKeepsTheCounts(t *testing.T) {
	tk := budget.NewToken(1000, 1)
	r := budget.NewRatio(1, 0)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				tk.RecordAttempt(false)
				r.RecordRequest()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 200.0, tk.Tokens())
	assert.Equal(t, 800.0, r.Tokens())
	allowed := 0
	var mu sync.Mutex
	for range 8 {
		wg.Go(func() {
			for r.TryRetry() {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 800, allowed)
}

func TestBadConfigurationPanicsWithItsName(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	cases := map[string]func(){
		"bulwark/budget: NewToken: maxTokens must be in [1e-06, 1000], got 0":                              func() { budget.NewToken(0, 0.1) },
		"bulwark/budget: NewToken: maxTokens must be in [1e-06, 1000], got 1e-07":                          func() { budget.NewToken(1e-7, 0.1) },
		"bulwark/budget: NewToken: maxTokens must be in [1e-06, 1000], got 1001":                           func() { budget.NewToken(1001, 0.1) },
		"bulwark/budget: NewToken: maxTokens must be in [1e-06, 1000], got NaN":                            func() { budget.NewToken(nan, 0.1) },
		"bulwark/budget: NewToken: tokenRatio must be in [1e-06, 1000], got -1":                            func() { budget.NewToken(10, -1) },
		"bulwark/budget: NewToken: tokenRatio must be in [1e-06, 1000], got 1e-12":                         func() { budget.NewToken(10, 1e-12) },
		"bulwark/budget: NewToken: tokenRatio must be in [1e-06, 1000], got +Inf":                          func() { budget.NewToken(10, inf) },
		"bulwark/budget: NewRatio: ratio must be in [1e-06, 1], got 1.5":                                   func() { budget.NewRatio(1.5, 1) },
		"bulwark/budget: NewRatio: ratio must be in [1e-06, 1], got 1e-07":                                 func() { budget.NewRatio(1e-7, 1) },
		"bulwark/budget: NewRatio: ratio must be in [1e-06, 1], got NaN":                                   func() { budget.NewRatio(nan, 1) },
		"bulwark/budget: NewRatio: minPerSecond must be in [0, 1e9], got NaN":                              func() { budget.NewRatio(0.1, nan) },
		"bulwark/budget: NewRatio: minPerSecond must be in [0, 1e9], got -1":                               func() { budget.NewRatio(0.1, -1) },
		"bulwark/budget: NewRatio: minPerSecond must be in [0, 1e9], got +Inf":                             func() { budget.NewRatio(0.1, inf) },
		"bulwark/budget: NewRatio: minPerSecond must be in [0, 1e9], got 1e+300":                           func() { budget.NewRatio(0.1, 1e300) },
		"bulwark/budget: NewShare: budget must not be nil":                                                 func() { budget.NewShare(nil) },
		"bulwark/budget: NewShare: budget must be comparable (a pointer), got testutil.UncomparableBudget": func() { budget.NewShare(testutil.UncomparableBudget{}) },
	}
	for msg, f := range cases {
		assert.PanicsWithValue(t, msg, f)
	}
	assert.NotPanics(t, func() { budget.NewToken(1e-6, 1000); budget.NewRatio(1e-6, 1e9); budget.NewRatio(1, 0) }, "the bounds are valid")
}
