package breaker_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/internal/outcome"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The zero Breaker is New() with its defaults: five failures in a row open
// it for 60s.
func TestZeroBreakerWorksAsNew(t *testing.T) {
	var b breaker.Breaker
	assert.Equal(t, breaker.Closed, b.State())
	run(&b, "FFFF")
	assert.Equal(t, breaker.Closed, b.State())
	assert.Equal(t, 4, b.Snapshot().ConsecutiveFailures)
	run(&b, "F")
	require.Equal(t, breaker.Open, b.State())
	err := b.Execute(context.Background(), nop)
	require.ErrorIs(t, err, breaker.ErrOpen)
	d, ok := bulwark.RetryAfter(err)
	assert.True(t, ok)
	assert.InDelta(t, float64(60*time.Second), float64(d), float64(time.Second))
	assert.Equal(t, [4]int64{0, 5, 0, 1}, b.Snapshot().Totals)
}

func TestZeroBreakerEveryMethodWorks(t *testing.T) {
	var a, i, r breaker.Breaker
	p, err := a.Acquire(context.Background())
	require.NoError(t, err)
	p.Done(context.Background(), errDep)
	assert.Equal(t, 1, a.Snapshot().ConsecutiveFailures)
	i.Isolate()
	assert.ErrorIs(t, i.Execute(context.Background(), nop), breaker.ErrOpen)
	r.Reset()
	r.Disable()
	assert.Equal(t, breaker.Disabled, r.State())
	var zp breaker.Permit
	zp.Done(context.Background(), errDep) // does nothing
}

func TestZeroBreakerFirstUseFromManyGoroutines(t *testing.T) {
	var b breaker.Breaker
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { _ = b.Execute(context.Background(), nop) })
	}
	wg.Wait()
	assert.Equal(t, int64(8), b.Snapshot().Totals[outcome.Success])
}
