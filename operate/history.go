package operate

import (
	"math"
	"strconv"
	"time"

	"github.com/bulwark-go/bulwark"
)

const (
	// sampleEvery is the least time between two samples of the counts.
	sampleEvery = time.Second
	// historyLen is the points of a sparkline: a minute of samples.
	historyLen = 60
)

// series holds the last historyLen+1 samples, whose historyLen intervals
// make the points of a sparkline.
type series[T any] struct {
	buf  [historyLen + 1]T
	next int
	n    int
}

func (s *series[T]) add(v T) {
	s.buf[s.next] = v
	s.next = (s.next + 1) % len(s.buf)
	s.n = min(s.n+1, len(s.buf))
}

// each calls f for each pair of consecutive samples, oldest first.
func (s *series[T]) each(f func(prev, cur *T)) {
	start := (s.next + len(s.buf) - s.n) % len(s.buf)
	for i := 1; i < s.n; i++ {
		f(&s.buf[(start+i-1)%len(s.buf)], &s.buf[(start+i)%len(s.buf)])
	}
}

// last returns the two newest samples, ok false if there are not two.
func (s *series[T]) last() (prev, cur *T, ok bool) {
	if s.n < 2 {
		return nil, nil, false
	}
	l := len(s.buf)
	return &s.buf[(s.next+l-2)%l], &s.buf[(s.next+l-1)%l], true
}

// countSample is a policy's counts at one moment.
type countSample struct {
	at                                    time.Time
	successes, failures, ignored, rejects int64
}

func sampleOf(at time.Time, s bulwark.Status) countSample {
	return countSample{at: at, successes: s.Successes, failures: s.Failures, ignored: s.Ignored, rejects: s.Rejected}
}

type history struct{ series[countSample] }

// rates returns the calls per second by outcome between two samples.
func rates(prev, cur *countSample) (success, failure, ignored, rejected number) {
	dt := cur.at.Sub(prev.at).Seconds()
	per := func(a, b int64) number { return number(float64(b-a) / dt) }
	return per(prev.successes, cur.successes), per(prev.failures, cur.failures),
		per(prev.ignored, cur.ignored), per(prev.rejects, cur.rejects)
}

// durationSample is a pipeline's summed call durations at one moment.
type durationSample struct {
	at           time.Time
	nanos, calls int64
}

type latencyHistory struct{ series[durationSample] }

// meanMillis returns the mean duration of the calls between two samples,
// NaN (null in JSON) if there were none.
func meanMillis(prev, cur *durationSample) number {
	calls := cur.calls - prev.calls
	if calls <= 0 {
		return number(math.NaN())
	}
	return number(float64(cur.nanos-prev.nanos) / float64(calls) / 1e6)
}

// number is a float in JSON, rounded to three decimals, and null when it is
// NaN: a value that cannot be known yet, or does not apply.
type number float64

var nan = number(math.NaN())

func (n number) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, math.Round(f*1000)/1000, 'f', -1, 64), nil
}
