package ratelimit

import (
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"
)

// A specification of the token bucket in exact arithmetic: capacity b,
// refilled at r tokens a second, full at time 0; a call at t takes a token
// if one is there.
type specBucket struct {
	r, b, tokens *big.Rat
	last         int64 // ns
}

func newSpec(r rate.Limit, b int) *specBucket {
	rr := new(big.Rat)
	rr.SetFloat64(float64(r))
	return &specBucket{r: rr, b: big.NewRat(int64(b), 1), tokens: big.NewRat(int64(b), 1)}
}

func (s *specBucket) allow(t int64) bool {
	refill := new(big.Rat).Mul(s.r, big.NewRat(t-s.last, int64(time.Second)))
	s.tokens.Add(s.tokens, refill)
	if s.tokens.Cmp(s.b) > 0 {
		s.tokens.Set(s.b)
	}
	s.last = t
	if s.tokens.Cmp(big.NewRat(1, 1)) >= 0 {
		s.tokens.Sub(s.tokens, big.NewRat(1, 1))
		return true
	}
	return false
}

// With readings in order and a limit whose token takes a whole number of
// nanoseconds, the bucket decides every call as the specification does.
func TestBucketDecidesAsTheSpecification(t *testing.T) {
	for _, c := range []struct {
		limit rate.Limit
		burst int
	}{{200, 5}, {1, 1}, {1000, 1}, {1e6, 100}, {0.5, 3}, {1.0 / 3600, 2}} {
		r := newRule(c.limit, c.burst)
		spec := newSpec(c.limit, c.burst)
		rng := rand.New(rand.NewPCG(1, uint64(c.burst)))
		step := int64(float64(time.Second) / float64(c.limit) / 3)
		var s, now int64
		for i := range 20000 {
			now += rng.Int64N(2 * step)
			n, wait := r.take(s, now)
			ok := wait <= 0
			if ok {
				s = n
			}
			require.Equal(t, spec.allow(now), ok, "limit %v burst %d, call %d at %v", c.limit, c.burst, i, time.Duration(now))
		}
	}
}

// With readings that go stale by up to 5ms before their turn (as under a
// contended CPU), for every interval the calls whose token fell due in it
// number at most r·t + b, waits included.
func TestBucketKeepsTheBoundWithStaleReadings(t *testing.T) {
	for _, c := range []struct {
		limit   rate.Limit
		burst   int
		maxWait time.Duration
	}{{200, 5, 0}, {200, 5, 40 * time.Millisecond}, {3, 2, time.Second}, {1e5, 1, time.Millisecond}} {
		r := newRule(c.limit, c.burst)
		rng := rand.New(rand.NewPCG(2, uint64(c.burst)))
		var s, clock int64
		var due []int64
		for range 50000 {
			clock += rng.Int64N(int64(time.Second) / int64(c.limit) / 4)
			reading := max(clock-rng.Int64N(int64(5*time.Millisecond)), 0)
			n, wait := r.take(s, reading)
			if wait <= 0 || wait <= c.maxWait {
				s = n
				due = append(due, reading+int64(max(wait, 0)))
			}
		}
		slices.Sort(due)
		worst := 0.0
		for i := range due {
			for j := i; j < len(due); j++ {
				over := float64(j-i+1) - (float64(c.limit)*float64(due[j]-due[i])/1e9 + float64(c.burst))
				worst = max(worst, over)
			}
		}
		assert.LessOrEqual(t, worst, 1e-9, "limit %v burst %d wait %v: %d calls admitted", c.limit, c.burst, c.maxWait, len(due))
	}
}

// Settings a Duration cannot hold are counted without overflow: the unit
// grows so that a burst's refill time fits, a refill time past 2^62 ns
// makes the bucket fixed, and a huge burst counts as maxBurst tokens.
func TestRuleArithmeticSaturates(t *testing.T) {
	r := newRule(1, 1<<62)
	assert.Equal(t, refilling, r.kind)
	assert.Equal(t, int64(maxBurst), r.depth/r.t)
	assert.LessOrEqual(t, r.depth, int64(maxDepth))

	r = newRule(1.0/(365*24*3600), 1000) // one a year
	assert.Equal(t, refilling, r.kind)
	assert.Positive(t, r.shift)
	assert.Equal(t, int64(1000), r.depth/r.t)

	r = newRule(1e-10, 5)
	assert.Equal(t, fixed, r.kind)
	assert.True(t, r.hint)
	r = newRule(0, 5)
	assert.Equal(t, fixed, r.kind)
	assert.False(t, r.hint)

	r = newRule(1e300, 1)
	assert.Equal(t, int64(1), r.t, "a token a nanosecond at most")

	// A state far ahead (waits of math.MaxInt64 pile up) does not wrap
	// around: a token still representable is a long wait, one past the end
	// of time is maxDuration and leaves the state alone.
	r = newRule(1, 1)
	n, wait := r.take(math.MaxInt64-int64(3*time.Second), int64(time.Second))
	assert.Equal(t, int64(math.MaxInt64-int64(2*time.Second)), n)
	assert.Equal(t, time.Duration(math.MaxInt64-int64(4*time.Second)), wait)
	for _, s := range []int64{math.MaxInt64 - int64(time.Second) + 1, math.MaxInt64} {
		n, wait = r.take(s, 0)
		assert.Equal(t, s, n)
		assert.Equal(t, maxDuration, wait)
	}
	r = newRule(1.0/(365*24*3600), 1000)
	for _, s := range []int64{math.MaxInt64>>r.shift + r.depth, math.MaxInt64 - 10} {
		n, wait = r.take(s, 0)
		assert.Equal(t, maxDuration, wait, "due past the end of a Duration")
		assert.Equal(t, s, n)
	}
}

// The limit is rounded down, never up: by less than 0.1% below a million a
// second, and by at most 0.1% when a huge burst coarsens the time unit.
func TestRuleRoundsTheLimitDown(t *testing.T) {
	for _, c := range []struct {
		limit rate.Limit
		burst int
	}{
		{1e6, 1}, {999_999, 3}, {3, 1}, {7, 5}, {1e6 / 3, 10}, {0.3, 1},
		{1, 1 << 50}, {3, 1 << 45}, {1e6 / 7, 1 << 49}, {1.0 / (365 * 24 * 3600), 1000}, {2.5e-10, 2},
	} {
		r := newRule(c.limit, c.burst)
		actual := 1e9 / math.Ldexp(float64(r.t), int(r.shift))
		assert.LessOrEqual(t, actual, float64(c.limit), "limit %v burst %d", c.limit, c.burst)
		assert.Greater(t, actual, float64(c.limit)*0.999, "limit %v burst %d: shift %d", c.limit, c.burst, r.shift)
	}
}
