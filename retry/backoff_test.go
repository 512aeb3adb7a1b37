package retry

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

const ms = time.Millisecond

func TestBackoffFormulas(t *testing.T) {
	constant := backoff{kind: backoffConstant, initial: 50 * ms}
	linear := backoff{kind: backoffLinear, initial: 100 * ms, increment: 50 * ms, max: 300 * ms}
	expo := backoff{kind: backoffExponential, initial: 100 * ms, factor: 2, max: time.Second}
	cases := []struct {
		name string
		b    backoff
		n    int
		u    float64
		want time.Duration
	}{
		{"constant", constant, 1, 0, 50 * ms},
		{"constant, any retry", constant, 7, 0.9, 50 * ms},
		{"linear first", linear, 1, 0, 100 * ms},
		{"linear third", linear, 3, 0, 200 * ms},
		{"linear capped", linear, 10, 0, 300 * ms},
		{"exponential first is the initial delay", expo, 1, 0, 100 * ms},
		{"exponential fourth", expo, 4, 0, 800 * ms},
		{"exponential capped", expo, 5, 0, time.Second},
		{"exponential far past the cap does not overflow", expo, 5000, 0, time.Second},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, tc.b.delay(tc.n, 0, tc.u), tc.name)
	}
}

func TestJitterFormulas(t *testing.T) {
	expo := func(j Jitter) *backoff {
		return &backoff{kind: backoffExponential, initial: 100 * ms, factor: 2, max: time.Second, jitter: j}
	}
	// Full: u × d.
	assert.Equal(t, 0*ms, expo(JitterFull).delay(3, 0, 0))
	assert.Equal(t, 100*ms, expo(JitterFull).delay(3, 0, 0.25))  // d = 400ms
	assert.Equal(t, 750*ms, expo(JitterFull).delay(10, 0, 0.75)) // d capped at 1s
	// Equal: d/2 + u × d/2.
	assert.Equal(t, 200*ms, expo(JitterEqual).delay(3, 0, 0))
	assert.Equal(t, 300*ms, expo(JitterEqual).delay(3, 0, 0.5))
	// Decorrelated: initial + u × (3 × prev − initial), capped; the first
	// draw uses prev = initial.
	d := expo(JitterDecorrelated)
	assert.Equal(t, 100*ms, d.delay(1, 0, 0))
	assert.Equal(t, 200*ms, d.delay(1, 0, 0.5))      // 100 + 0.5 × (300 − 100)
	assert.Equal(t, 400*ms, d.delay(2, 200*ms, 0.6)) // 100 + 0.6 × (600 − 100)
	assert.Equal(t, time.Second, d.delay(3, 900*ms, 0.99), "capped")
}

func TestJitterStaysInBounds(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, j := range []Jitter{JitterFull, JitterEqual, JitterDecorrelated} {
		b := backoff{kind: backoffExponential, initial: 10 * ms, factor: 2, max: 500 * ms, jitter: j}
		prev := time.Duration(0)
		for n := 1; n <= 50; n++ {
			got := b.delay(n, prev, r.Float64())
			base := min(10*ms*time.Duration(math.Pow(2, float64(min(n-1, 20)))), 500*ms)
			switch j {
			case JitterFull:
				assert.True(t, got >= 0 && got < base, "full %v of %v", got, base)
			case JitterEqual:
				assert.True(t, got >= base/2 && got < base, "equal %v of %v", got, base)
			case JitterDecorrelated:
				hi := 3 * max(prev, 10*ms)
				assert.True(t, got >= 10*ms && got <= min(hi, 500*ms), "decorrelated %v after %v", got, prev)
			}
			prev = got
		}
	}
}

// Full jitter spreads uniformly over [0, d): with a seeded source, each
// tenth of the range gets a tenth of 20000 draws, within 1.5 points.
func TestFullJitterSpreadsUniformly(t *testing.T) {
	r := rand.New(rand.NewPCG(42, 7))
	b := backoff{kind: backoffConstant, initial: time.Second, jitter: JitterFull}
	const draws = 20000
	var deciles [10]int
	for range draws {
		d := b.delay(1, 0, r.Float64())
		deciles[int(d*10/time.Second)]++
	}
	for i, n := range deciles {
		assert.InDelta(t, 0.1, float64(n)/draws, 0.015, "decile %d", i)
	}
}

func TestJitterNames(t *testing.T) {
	for j, want := range map[Jitter]string{JitterNone: "none", JitterFull: "full", JitterEqual: "equal", JitterDecorrelated: "decorrelated", 9: "unknown"} {
		assert.Equal(t, want, j.String())
	}
}
