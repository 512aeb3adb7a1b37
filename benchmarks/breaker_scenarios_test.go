package benchmarks

import (
	"context"
	"errors"
	"testing"

	bbreaker "github.com/bulwark-go/bulwark/breaker"
	ebreaker "github.com/eapache/go-resiliency/breaker"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/sony/gobreaker/v2"
	"github.com/stretchr/testify/assert"
)

// breakers builds every peer's breaker afresh.
var breakers = []struct {
	name string
	make func() runner
}{
	{"bulwark", bulwarkBreaker},
	{"bulwark-permit", bulwarkBreakerPermit},
	{"bulwark-acquire", bulwarkBreakerAcquire},
	{"gobreaker", gobreakerBreaker},
	{"failsafe-go", failsafeBreaker},
	{"failsafe-go-permit", failsafeBreakerPermit},
	{"eapache", eapacheBreaker},
}

// opened returns a breaker that has been tripped by failures.
func opened(make func() runner) runner {
	run := make()
	for range 20 {
		_ = run(context.Background(), failing)
	}
	return run
}

// BenchmarkBreakerClosed: the closed-state success path.
func BenchmarkBreakerClosed(b *testing.B) {
	for _, p := range breakers {
		b.Run(p.name, func(b *testing.B) { bench(b, p.make(), nop, false) })
	}
}

func BenchmarkBreakerClosedParallel(b *testing.B) {
	for _, p := range breakers {
		b.Run(p.name, func(b *testing.B) { benchParallel(b, p.make(), nop, false) })
	}
}

// BenchmarkBreakerOpen: the open-state rejection path.
func BenchmarkBreakerOpen(b *testing.B) {
	for _, p := range breakers {
		b.Run(p.name, func(b *testing.B) { bench(b, opened(p.make), nop, true) })
	}
}

func TestBreakerHarnessesOpenAndReject(t *testing.T) {
	isOpen := func(err error) bool {
		return errors.Is(err, bbreaker.ErrOpen) || errors.Is(err, gobreaker.ErrOpenState) ||
			errors.Is(err, circuitbreaker.ErrOpen) || errors.Is(err, ebreaker.ErrBreakerOpen)
	}
	for _, p := range breakers {
		run := p.make()
		assert.NoError(t, run(context.Background(), nop), p.name)
		called := false
		err := opened(p.make)(context.Background(), func(context.Context) error { called = true; return nil })
		assert.True(t, isOpen(err), "%s: %v", p.name, err)
		assert.False(t, called, p.name)
	}
}
