package breaker_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/stretchr/testify/assert"
)

// Status tells the breaker's state and counts in the shape every policy
// shares, and the time until an open breaker admits probes.
func TestStatus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.WithName("inventory"), breaker.WithOpenDuration(time.Minute))
		run(b, "SS")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = b.Execute(ctx, func(ctx context.Context) error { return ctx.Err() })
		assert.Equal(t, bulwark.Status{Kind: "breaker", Name: "inventory", State: "closed", Successes: 2, Ignored: 1}, b.Status())

		run(b, "FFFFF")
		time.Sleep(time.Second)
		_ = b.Execute(context.Background(), nop)
		assert.Equal(t, bulwark.Status{Kind: "breaker", Name: "inventory", State: "open",
			Successes: 2, Failures: 5, Ignored: 1, Rejected: 1, NextState: 59 * time.Second}, b.Status())
		time.Sleep(time.Minute)
		assert.Equal(t, "half_open", b.Status().State)
		assert.Zero(t, b.Status().NextState)
		assert.Zero(t, testing.AllocsPerRun(100, func() { _ = b.Status() }))
	})
}

// A zero Breaker's Status is a closed, unnamed breaker's, and reading it
// neither configures the breaker nor races with its first call.
func TestStatusOfAZeroBreaker(t *testing.T) {
	var b breaker.Breaker
	assert.Equal(t, bulwark.Status{Kind: "breaker", State: "closed"}, b.Status())
	var wg sync.WaitGroup
	wg.Go(func() { _ = b.Execute(context.Background(), func(context.Context) error { return errors.New("x") }) })
	wg.Go(func() { _ = b.Status() })
	wg.Wait()
	assert.Equal(t, int64(1), b.Status().Failures)
}
