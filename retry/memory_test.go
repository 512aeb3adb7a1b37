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

func TestBytesPerRetry(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	plain := otest.HeapPerInstance(2000, func() *retry.Retry {
		r := retry.New()
		_ = r.Execute(context.Background(), testutil.Nop)
		return r
	})
	b := budget.NewToken(10, 0.1)
	withBudget := otest.HeapPerInstance(2000, func() *retry.Retry { return retry.New(retry.WithBudget(b)) })
	t.Logf("a retry: %.0f bytes; with a budget: %.0f bytes (the budget itself shared)", plain, withBudget)
	assert.LessOrEqual(t, plain, 768.0)
	assert.LessOrEqual(t, withBudget, 768.0)
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
