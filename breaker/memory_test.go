package breaker_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/otel/metric"
)

// A breaker with the default rule, used once (its striped counter is
// allocated on the first call), at GOMAXPROCS 2.
func TestBytesPerBreaker(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	per := otest.HeapPerInstance(2000, func() *breaker.Breaker {
		b := breaker.New()
		_ = b.Execute(context.Background(), nop)
		return b
	})
	t.Logf("a breaker with the default rule: %.0f bytes", per)
	assert.LessOrEqual(t, per, 2048.0)
	window := otest.HeapPerInstance(2000, func() *breaker.Breaker {
		b := breaker.New(breaker.WithFailureRatio(0.5))
		_ = b.Execute(context.Background(), nop)
		return b
	})
	t.Logf("with a failure ratio over the default count window of 100 calls: %.0f bytes", window)
}

// collectedAll builds n breakers, uses and drops them, and reports how
// many the collector reclaimed.
func collectedAll(n int, build func() *breaker.Breaker) int {
	done := make(chan struct{}, n)
	func() {
		for range n {
			b := build()
			run(b, "SFSFFFFF") // open: the timer of an hour holds it
			b.Reset()          // closed again: nothing holds it
			runtime.AddCleanup(b, func(ch chan struct{}) { ch <- struct{}{} }, done)
		}
	}()
	got := 0
	for range 50 {
		runtime.GC()
		for drained := false; !drained; {
			select {
			case <-done:
				got++
			default:
				drained = true
			}
		}
		if got == n {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return got
}

func TestDroppedBreakersAreCollected(t *testing.T) {
	for name, mp := range map[string]func() metric.MeterProvider{
		"global provider": func() metric.MeterProvider { return nil },
		"SDK provider":    func() metric.MeterProvider { return otest.NewMeter() },
	} {
		t.Run(name, func(t *testing.T) {
			m := mp()
			got := collectedAll(2000, func() *breaker.Breaker {
				opts := []breaker.Option{breaker.WithOpenDuration(time.Hour)}
				if m != nil {
					opts = append(opts, breaker.WithMeterProvider(m))
				}
				return breaker.New(opts...)
			})
			assert.Equal(t, 2000, got)
			runtime.KeepAlive(m)
		})
	}
}
