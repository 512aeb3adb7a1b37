package operate_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/bulwark-go/bulwark/operate"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// healthz returns the code and body of GET /healthz (with query q).
func healthz(t *testing.T, h http.Handler, q string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz"+q, nil))
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	assert.True(t, json.Valid(rec.Body.Bytes()), rec.Body.String())
	return rec.Code, rec.Body.String()
}

func TestHealthzFailsWhileACriticalBreakerIsOpenAndRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		b := breaker.New(breaker.WithName("payments"), breaker.WithConsecutiveFailures(3), breaker.WithOpenDuration(10*time.Second))
		r := operate.NewRegistry()
		require.NoError(t, r.Register("payments", b, operate.Critical()))
		h := operate.Handler(r)

		code, body := healthz(t, h, "")
		assert.Equal(t, http.StatusOK, code)
		assert.JSONEq(t, `{"status":"ok"}`, body)

		for range 3 {
			_ = b.Execute(ctx, testutil.Fail)
		}
		code, body = healthz(t, h, "")
		assert.Equal(t, http.StatusServiceUnavailable, code)
		assert.JSONEq(t, `{"status":"unavailable","failing":[
			{"name":"payments","kind":"breaker","state":"open","critical":true,"reason":"consecutive_failures"}]}`, body)

		time.Sleep(10 * time.Second) // the open duration: half-open is on its way back
		synctest.Wait()
		code, _ = healthz(t, h, "")
		assert.Equal(t, http.StatusOK, code, "a half-open breaker does not fail the check")
		require.NoError(t, b.Execute(ctx, testutil.Nop)) // the probe closes it
		code, body = healthz(t, h, "")
		assert.Equal(t, http.StatusOK, code)
		assert.JSONEq(t, `{"status":"ok"}`, body)
	})
}

func TestHealthzFailsWhileACriticalBreakerIsIsolated(t *testing.T) {
	b := breaker.New()
	r := operate.NewRegistry()
	require.NoError(t, r.Register("payments", b, operate.Critical()))
	h := operate.Handler(r)

	b.Isolate()
	code, body := healthz(t, h, "")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.JSONEq(t, `{"status":"unavailable","failing":[
		{"name":"payments","kind":"breaker","state":"isolated","critical":true,"reason":"isolate"}]}`, body)
	b.Disable()
	code, _ = healthz(t, h, "")
	assert.Equal(t, http.StatusOK, code, "a disabled breaker lets every call through")
	b.Reset()
	code, _ = healthz(t, h, "")
	assert.Equal(t, http.StatusOK, code)
}

func TestHealthzIgnoresAnOpenBreakerThatIsNotCritical(t *testing.T) {
	b := breaker.New()
	r := operate.NewRegistry()
	require.NoError(t, r.Register("recommendations", b))
	b.Isolate()
	code, _ := healthz(t, operate.Handler(r), "")
	assert.Equal(t, http.StatusOK, code)
}

func TestHealthzVerboseListsEveryPolicy(t *testing.T) {
	critical, other := breaker.New(), breaker.New()
	r := operate.NewRegistry()
	require.NoError(t, r.Register("payments", critical, operate.Critical()))
	require.NoError(t, r.Register("checkout", bulwark.New(retry.New(), other)))
	other.Isolate()
	h := operate.Handler(r)

	code, body := healthz(t, h, "?verbose")
	assert.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{"status":"ok","policies":[
		{"name":"payments","kind":"breaker","state":"closed","critical":true},
		{"name":"checkout/retry","kind":"retry","state":"","critical":false},
		{"name":"checkout/breaker","kind":"breaker","state":"isolated","critical":false,"reason":"isolate"}]}`, body)

	critical.Isolate()
	code, body = healthz(t, h, "?verbose=1")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.JSONEq(t, `{"status":"unavailable",
		"failing":[{"name":"payments","kind":"breaker","state":"isolated","critical":true,"reason":"isolate"}],
		"policies":[
		{"name":"payments","kind":"breaker","state":"isolated","critical":true,"reason":"isolate"},
		{"name":"checkout/retry","kind":"retry","state":"","critical":false},
		{"name":"checkout/breaker","kind":"breaker","state":"isolated","critical":false,"reason":"isolate"}]}`, body)
}
