package bulwarkhttp_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/hedge"
	"github.com/bulwark-go/bulwark/middleware/bulwarkhttp"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A handler writes its response to the client as it goes, so it answers a
// request once, whatever policy the middleware runs: a retry does not
// repeat a failure it wrote, and an attempt a policy makes beside it (a
// hedge) or after it left (an abandoning timeout) is refused as a local
// rejection, without running it. An outer breaker still counts the
// written failure.
func TestMiddlewareRunsTheHandlerOnce(t *testing.T) {
	t.Run("a retry does not repeat a written failure", func(t *testing.T) {
		var runs atomic.Int32
		outer := breaker.New(breaker.WithConsecutiveFailures(1))
		r := retry.New(retry.WithDelay(0))
		h := bulwarkhttp.Middleware(bulwark.New(outer, r))(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			runs.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("once"))
		}))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
		assert.Equal(t, int32(1), runs.Load())
		assert.Equal(t, "once", w.Body.String())
		assert.Equal(t, http.StatusServiceUnavailable, w.Code)
		assert.Zero(t, r.Snapshot().Retries)
		assert.Equal(t, breaker.Open, outer.State(), "the written failure is a failure for the breaker around the retry")
	})
	t.Run("a hedge beside a slow handler", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var runs atomic.Int32
			hg := hedge.New(hedge.WithDelay(time.Millisecond))
			h := bulwarkhttp.Middleware(hg)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				runs.Add(1)
				time.Sleep(10 * time.Millisecond)
				_, _ = w.Write([]byte("once"))
			}))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
			assert.Equal(t, int32(1), runs.Load())
			assert.Equal(t, "once", w.Body.String())
			assert.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, int64(1), hg.Snapshot().Hedges, "the hedge was launched, and refused")
		})
	})
	t.Run("a retry after an abandoning timeout", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var runs atomic.Int32
			var retried error
			p := bulwark.New(
				retry.New(retry.WithDelay(0), retry.WithRetryIf(func(err error) bool {
					if retried == nil {
						retried = err
					}
					return true
				})),
				timeout.New(time.Millisecond, timeout.WithAbandon()))
			h := bulwarkhttp.Middleware(p)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				runs.Add(1)
				time.Sleep(10 * time.Millisecond)
				_, _ = w.Write([]byte("late"))
			}))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
			require.Equal(t, int32(1), runs.Load())
			assert.True(t, errors.Is(retried, timeout.ErrTimeout), "the retry saw the timeout, got %v", retried)
			assert.Equal(t, http.StatusServiceUnavailable, w.Code, "the refused attempt is a rejection, answered once the handler returned")
			assert.NotContains(t, w.Body.String(), "late", "the abandoned handler cannot write")
		})
	})
	t.Run("the refusal is a rejection", func(t *testing.T) {
		var seen []error
		p := policyFunc(func(ctx context.Context, fn func(context.Context) error) error {
			seen = append(seen, fn(ctx), fn(ctx))
			return seen[1]
		})
		h := bulwarkhttp.Middleware(p)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
		require.Len(t, seen, 2)
		assert.NoError(t, seen[0])
		assert.ErrorIs(t, seen[1], bulwark.ErrRejected)
	})
}
