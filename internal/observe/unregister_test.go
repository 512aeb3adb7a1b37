package observe_test

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/core"
	"github.com/bulwark-go/bulwark/internal/observe"
	"github.com/bulwark-go/bulwark/internal/outcome"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// A meter's last policy may be collected while the SDK collects: the SDK
// holds its lock while it calls bulwark's callback, which takes the
// group's, so unregistering the callback when the group empties must not
// hold the group's lock. Policies are dropped, one at a time, while
// another goroutine collects without pause; the test fails if the two
// ever deadlock.
func TestCollectingWhileTheLastPolicyIsCollected(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	r := core.NewReporter("test", "", mp)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var rm metricdata.ResourceMetrics
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = reader.Collect(context.Background(), &rm)
		}
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 2000 {
			func() {
				o := &owner{}
				observe.Calls(r, o, func(o *owner, _ outcome.Outcome) int64 { return o.value }, outcome.Failure)
				runtime.KeepAlive(o)
			}()
			runtime.GC() // the owner is collected: its cleanup empties the group
		}
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		buf := make([]byte, 1<<20)
		t.Fatalf("deadlock between a collection and a cleanup:\n%s", buf[:runtime.Stack(buf, true)])
	}
	close(stop)
	wg.Wait()
	require.NoError(t, mp.Shutdown(context.Background()))
}
