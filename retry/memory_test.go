package retry_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/bulwark-go/bulwark/budget"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/otel/metric"
)

// A Retry's bytes, at GOMAXPROCS 2: most of them are its bulwark.calls
// registration, which an SDK's meter makes larger; its striped counts are
// allocated when it first retries.
func TestBytesPerRetry(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	measure := func(build func() *retry.Retry) float64 {
		testutil.Settle()
		return otest.HeapPerInstance(2000, build)
	}
	plain := measure(func() *retry.Retry {
		r := retry.New()
		_ = r.Execute(context.Background(), testutil.Nop)
		return r
	})
	failed := measure(func() *retry.Retry {
		r := retry.New(retry.WithDelay(0))
		_ = r.Execute(context.Background(), testutil.Fail)
		return r
	})
	b := budget.NewToken(10, 0.1)
	withBudget := measure(func() *retry.Retry { return retry.New(retry.WithBudget(b)) })
	m := otest.NewMeter()
	sdk := measure(func() *retry.Retry { return retry.New(retry.WithMeterProvider(m)) })
	t.Logf("a retry: %.0f bytes; once it has retried (its counts): %.0f bytes; with a budget: %.0f bytes (the budget itself shared); with an SDK meter: %.0f bytes",
		plain, failed, withBudget, sdk)
	assert.LessOrEqual(t, plain, 1152.0)
	assert.LessOrEqual(t, failed, 1536.0)
	assert.LessOrEqual(t, withBudget, 1152.0)
	assert.LessOrEqual(t, sdk, 1152.0)
	runtime.KeepAlive(m)
}

func TestDroppedRetriesAreCollected(t *testing.T) {
	for name, mp := range map[string]func() metric.MeterProvider{
		"global provider": func() metric.MeterProvider { return nil },
		"SDK provider":    func() metric.MeterProvider { return otest.NewMeter() },
	} {
		t.Run(name, func(t *testing.T) {
			m := mp()
			assert.True(t, otest.Collected(func() *retry.Retry {
				opts := []retry.Option{retry.WithDelay(0), retry.WithBudget(budget.NewRatio(0.5, 1))}
				if m != nil {
					opts = append(opts, retry.WithMeterProvider(m))
				}
				return retry.New(opts...)
			}, func(r *retry.Retry) {
				_ = r.Execute(context.Background(), testutil.Fail)
			}))
			runtime.KeepAlive(m)
		})
	}
}
