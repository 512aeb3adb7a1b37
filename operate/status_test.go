package operate_test

import (
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/bulwark-go/bulwark/operate"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the output")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -run %s -update to write it", t.Name())
	assert.Equal(t, string(want), string(got))
}

// system is a small service's policies after a second of traffic: a
// critical breaker that opened, a pipeline whose breaker opened under
// retries, a rate limiter that rejected, and a policy from outside bulwark.
func system(t *testing.T) (*operate.Registry, func()) {
	payments := breaker.New(breaker.WithName("payments"), breaker.WithConsecutiveFailures(2), breaker.WithOpenDuration(30*time.Second))
	checkout := bulwark.New(
		retry.New(retry.WithMaxAttempts(2), retry.WithDelay(100*time.Millisecond)),
		breaker.New(breaker.WithName("inventory"), breaker.WithConsecutiveFailures(3)),
		bulkhead.New(4),
		timeout.New(time.Second),
	).With(bulwark.WithName("checkout"), bulwark.WithCallDuration())
	api := ratelimit.New(10, 5, ratelimit.WithName("api"))

	r := operate.NewRegistry()
	require.NoError(t, r.Register("payments", payments, operate.Critical()))
	require.NoError(t, r.Register("checkout", checkout))
	require.NoError(t, r.Register("api", api))
	require.NoError(t, r.Register("legacy", outside{}))

	traffic := func() {
		ctx := context.Background()
		start := time.Now()
		for range 4 {
			require.NoError(t, checkout.Execute(ctx, func(ctx context.Context) error { return testutil.SleepCtx(ctx, 20*time.Millisecond) }))
		}
		for range 2 {
			_ = checkout.Execute(ctx, testutil.Fail)
		}
		for range 3 {
			require.NoError(t, payments.Execute(ctx, testutil.Nop))
		}
		for range 3 {
			_ = payments.Execute(ctx, testutil.Fail)
		}
		for range 7 {
			_ = api.Execute(ctx, testutil.Nop)
		}
		time.Sleep(time.Until(start.Add(time.Second)))
	}
	return r, traffic
}

func TestStatusDocumentIsPinned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, traffic := system(t)
		h := operate.Handler(r, operate.WithControls())
		get := func() *httptest.ResponseRecorder {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/status", nil))
			require.Equal(t, http.StatusOK, rec.Code)
			return rec
		}
		golden(t, "status-first.golden", get().Body.Bytes())
		traffic()
		golden(t, "status.golden", get().Body.Bytes())
	})
}

// latencyMean returns the mean latency of the first pipeline in /status,
// nil when it is null.
func latencyMean(t *testing.T, h http.Handler) *float64 {
	t.Helper()
	s := getStatus(t, h)
	require.NotNil(t, s.Pipelines[0].Latency)
	return s.Pipelines[0].Latency.Mean
}

func TestLatencyIsMeasuredWhileTheRegistryIsRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		p := bulwark.New(retry.New()).With(bulwark.WithCallDuration())
		calls := func(n int, d time.Duration) {
			for range n {
				require.NoError(t, p.Execute(ctx, func(ctx context.Context) error { return testutil.SleepCtx(ctx, d) }))
			}
		}
		r := operate.NewRegistry()
		require.NoError(t, r.Register("checkout", p))
		h := operate.Handler(r)

		calls(3, 30*time.Millisecond) // before anyone reads: not timed
		assert.Nil(t, latencyMean(t, h))
		calls(4, 20*time.Millisecond)
		time.Sleep(time.Second)
		m := latencyMean(t, h)
		require.NotNil(t, m)
		assert.Equal(t, 20.0, *m, "the calls since the first read, alone")

		time.Sleep(3 * time.Minute) // nobody reads
		calls(2, 50*time.Millisecond)
		assert.Nil(t, latencyMean(t, h), "calls are not timed once readers have gone")
		calls(2, 10*time.Millisecond)
		time.Sleep(time.Second)
		m = latencyMean(t, h)
		require.NotNil(t, m)
		assert.Equal(t, 10.0, *m, "timed again once read")
	})
}
