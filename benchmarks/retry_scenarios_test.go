package benchmarks

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
)

var retriers = []struct {
	name string
	make func() runner
}{
	{"bulwark", bulwarkRetry},
	{"failsafe-go", failsafeRetry},
	{"cenkalti-backoff", cenkaltiRetry},
	{"avast-retry-go", avastRetry},
	{"eapache", eapacheRetrier},
}

// flaky fails twice, then succeeds, over and over; its error is
// preallocated, so any allocation is the library's.
func flaky() func(context.Context) error {
	n := 0
	return func(context.Context) error {
		n++
		if n%3 != 0 {
			return errDep
		}
		return nil
	}
}

// BenchmarkRetrySuccess: the first attempt succeeds.
func BenchmarkRetrySuccess(b *testing.B) {
	for _, p := range retriers {
		b.Run(p.name, func(b *testing.B) { bench(b, p.make(), nop, false) })
	}
}

func BenchmarkRetrySuccessParallel(b *testing.B) {
	for _, p := range retriers {
		b.Run(p.name, func(b *testing.B) { benchParallel(b, p.make(), nop, false) })
	}
}

// BenchmarkRetryTwoFailures: two failures, then a success, with no wait.
func BenchmarkRetryTwoFailures(b *testing.B) {
	for _, p := range retriers {
		b.Run(p.name, func(b *testing.B) { bench(b, p.make(), flaky(), false) })
	}
}

func TestRetryHarnessesRetryThreeTimes(t *testing.T) {
	for _, p := range retriers {
		run := p.make()
		calls := 0
		fn := flaky()
		err := run(context.Background(), func(ctx context.Context) error { calls++; return fn(ctx) })
		assert.NoError(t, err, p.name)
		assert.Equal(t, 3, calls, p.name)
		calls = 0
		assert.Error(t, run(context.Background(), func(context.Context) error { calls++; return errDep }), p.name)
		assert.Equal(t, 3, calls, "%s stops after 3 attempts", p.name)
	}
}
