package benchmarks

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
)

var rateLimiters = []struct {
	name string
	make func() runner
}{
	{"bulwark", bulwarkRateLimit},
	{"x-time-rate", xrateAllow},
	{"uber-ratelimit", uberTake},
	{"failsafe-go-smooth-permit", failsafeSmoothPermit},
	{"failsafe-go-bursty-permit", failsafeBurstyPermit},
	{"failsafe-go-bursty", failsafeBursty},
}

// BenchmarkRateLimitAllow: the allow path of a limiter that is never
// exceeded.
func BenchmarkRateLimitAllow(b *testing.B) {
	for _, p := range rateLimiters {
		b.Run(p.name, func(b *testing.B) { bench(b, p.make(), nop, false) })
	}
}

func BenchmarkRateLimitAllowParallel(b *testing.B) {
	for _, p := range rateLimiters {
		b.Run(p.name, func(b *testing.B) { benchParallel(b, p.make(), nop, false) })
	}
}

func TestRateLimitHarnessesAllow(t *testing.T) {
	for _, p := range rateLimiters {
		run := p.make()
		for range 100 {
			assert.NoError(t, run(context.Background(), nop), p.name)
		}
	}
}
