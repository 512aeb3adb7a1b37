package bulwarkhttp_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/middleware/bulwarkhttp"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMiddlewareStatusIsTheOutcome(t *testing.T) {
	for _, code := range []int{200, 204, 301, 404, 429, 499, 500, 502, 503, 599} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			rec := &recorder{}
			srv := httptest.NewServer(bulwarkhttp.Middleware(rec)(status(code, "body of "+strconv.Itoa(code))))
			defer srv.Close()

			got, body, _ := get(t, srv.Client(), srv.URL)
			assert.Equal(t, code, got, "the handler's status reaches the client")
			if code != http.StatusNoContent {
				assert.Equal(t, "body of "+strconv.Itoa(code), body, "and its body")
			}
			errs, _ := rec.outcomes()
			require.Len(t, errs, 1)
			if code >= 500 {
				var se *bulwarkhttp.StatusError
				require.ErrorAs(t, errs[0], &se, "a status >= 500 is a failure")
				assert.Equal(t, code, se.Code)
			} else {
				assert.NoError(t, errs[0], "a status < 500 is a success")
			}
		})
	}
}

func TestMiddlewareImplicitStatusIsSuccess(t *testing.T) {
	rec := &recorder{}
	h := bulwarkhttp.Middleware(rec)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "no WriteHeader") //nolint:errcheck
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, 200, w.Code)
	errs, _ := rec.outcomes()
	assert.Equal(t, []error{nil}, errs)

	// Nothing written at all: net/http answers 200, a success.
	rec = &recorder{}
	h = bulwarkhttp.Middleware(rec)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	errs, _ = rec.outcomes()
	assert.Equal(t, []error{nil}, errs)
}

func TestMiddlewareInformationalStatusIsNotTheOutcome(t *testing.T) {
	rec := &recorder{}
	h := bulwarkhttp.Middleware(rec)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	errs, _ := rec.outcomes()
	var se *bulwarkhttp.StatusError
	require.ErrorAs(t, errs[0], &se)
	assert.Equal(t, 503, se.Code)
}

func TestMiddlewareFailureStatusOption(t *testing.T) {
	rec := &recorder{}
	only503 := func(code int) bool { return code == 503 }
	mw := bulwarkhttp.Middleware(rec, bulwarkhttp.WithFailureStatus(only503))
	for _, code := range []int{500, 503, 404} {
		mw(status(code, "")).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	}
	errs, _ := rec.outcomes()
	require.Len(t, errs, 3)
	assert.NoError(t, errs[0])
	assert.Error(t, errs[1])
	assert.NoError(t, errs[2])
}

func TestMiddlewareStatusFailuresOpenABreaker(t *testing.T) {
	b := breaker.New(breaker.WithConsecutiveFailures(2), breaker.WithOpenDuration(90*time.Second))
	calls := 0
	srv := httptest.NewServer(bulwarkhttp.Middleware(b)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls++
		w.WriteHeader(http.StatusInternalServerError)
	})))
	defer srv.Close()

	for range 2 {
		code, _, _ := get(t, srv.Client(), srv.URL)
		assert.Equal(t, 500, code)
	}
	code, body, hdr := get(t, srv.Client(), srv.URL)
	assert.Equal(t, 503, code, "an open breaker answers 503")
	assert.Equal(t, "Service Unavailable\n", body, "with the status text, not the error's")
	assert.Equal(t, "90", hdr.Get("Retry-After"), "and when to come back, rounded up")
	assert.Equal(t, 2, calls, "without calling the handler")
}

func TestMiddlewareRejections(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		status     int
		retryAfter string
	}{
		{"limited with hint", bulwark.WithRetryAfter(ratelimit.ErrLimited, 1500*time.Millisecond), 429, "2"},
		{"limited without hint", ratelimit.ErrLimited, 429, ""},
		{"bulkhead full", bulkhead.ErrFull, 503, ""},
		{"breaker open with hint", bulwark.WithRetryAfter(breaker.ErrOpen, time.Nanosecond), 503, "1"},
		{"hint of zero", bulwark.WithRetryAfter(bulkhead.ErrFull, 0), 503, "0"},
		{"huge hint saturates", bulwark.WithRetryAfter(bulkhead.ErrFull, 1<<63-1), 503, "9223372037"},
		{"timeout", timeout.ErrTimeout, 503, ""},
		{"deadline", context.DeadlineExceeded, 503, ""},
		{"cancelled", context.Canceled, 503, ""},
		{"other error", errors.New("secret detail"), 500, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			p := refuse{tt.err}
			h := bulwarkhttp.Middleware(p)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
			assert.False(t, called)
			assert.Equal(t, tt.status, w.Code)
			assert.Equal(t, http.StatusText(tt.status)+"\n", w.Body.String())
			assert.NotContains(t, w.Body.String(), "secret")
			assert.Equal(t, tt.retryAfter, w.Header().Get("Retry-After"))
		})
	}
}

// refuse is a policy that refuses every call with err.
type refuse struct{ err error }

func (r refuse) Execute(context.Context, func(context.Context) error) error { return r.err }

func TestMiddlewareTimeoutBeforeAnythingWritten(t *testing.T) {
	for _, tt := range []struct {
		opts []bulwarkhttp.Option
		want int
	}{
		{nil, 503},
		{[]bulwarkhttp.Option{bulwarkhttp.WithTimeoutStatus(504)}, 504},
	} {
		synctest.Test(t, func(t *testing.T) {
			h := bulwarkhttp.Middleware(timeout.New(time.Second), tt.opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				<-r.Context().Done() // the handler sees the policy's deadline
			}))
			w := httptest.NewRecorder()
			start := time.Now()
			h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
			assert.Equal(t, time.Second, time.Since(start))
			assert.Equal(t, tt.want, w.Code)
			assert.Equal(t, http.StatusText(tt.want)+"\n", w.Body.String())
		})
	}
}

func TestMiddlewareTimeoutAfterWriteKeepsTheResponse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := bulwarkhttp.Middleware(timeout.New(time.Second))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusAccepted)
			io.WriteString(w, "partial") //nolint:errcheck
			<-r.Context().Done()
		}))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		assert.Equal(t, http.StatusAccepted, w.Code)
		assert.Equal(t, "partial", w.Body.String())
	})
}

func TestMiddlewareAbandonedHandlerCannotWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bh := bulkhead.New(1)
		release := make(chan struct{})
		late := make(chan error, 1)
		mw := bulwarkhttp.Middleware(bulwark.New(bh, timeout.New(time.Second, timeout.WithAbandon())))
		h := mw(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			<-release // ignores its context
			w.Header().Set("X-Late", "1")
			w.WriteHeader(http.StatusOK)
			_, err := io.WriteString(w, "late")
			late <- err
		}))
		w := httptest.NewRecorder()
		served := make(chan struct{})
		go func() {
			defer close(served)
			h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		}()
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Zero(t, bh.Snapshot().InFlight, "the policy let go at the deadline")
		select {
		case <-served:
			t.Fatal("ServeHTTP returned while the handler could still write")
		default:
		}
		close(release)
		assert.ErrorIs(t, <-late, http.ErrHandlerTimeout, "the abandoned handler's writes fail")
		<-served
		assert.Equal(t, 503, w.Code, "the middleware answered once the handler had returned")
		assert.Equal(t, "Service Unavailable\n", w.Body.String(), "nothing of the late handler")
		assert.Empty(t, w.Header().Get("X-Late"))
	})
}

func TestMiddlewareRejectionWriterOption(t *testing.T) {
	var gotStatus int
	var gotErr error
	write := func(w http.ResponseWriter, _ *http.Request, status int, err error) {
		gotStatus, gotErr = status, err
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		io.WriteString(w, `{"title":"slow down"}`) //nolint:errcheck
	}
	limited := bulwark.WithRetryAfter(ratelimit.ErrLimited, 3*time.Second)
	h := bulwarkhttp.Middleware(refuse{limited}, bulwarkhttp.WithRejectionWriter(write))(status(200, ""))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, 429, gotStatus)
	assert.ErrorIs(t, gotErr, ratelimit.ErrLimited)
	assert.Equal(t, 429, w.Code)
	assert.Equal(t, "3", w.Header().Get("Retry-After"), "set before the writer runs")
	assert.Equal(t, `{"title":"slow down"}`, w.Body.String())
}

func TestMiddlewareRealLimiterAnswers429(t *testing.T) {
	lim := ratelimit.New(1, 2) // two at once, then one a second
	srv := httptest.NewServer(bulwarkhttp.Middleware(lim)(status(200, "ok")))
	defer srv.Close()
	var codes []int
	var retryAfter string
	for range 3 {
		code, _, hdr := get(t, srv.Client(), srv.URL)
		codes = append(codes, code)
		if code == 429 {
			retryAfter = hdr.Get("Retry-After")
		}
	}
	assert.Equal(t, []int{200, 200, 429}, codes)
	assert.Equal(t, "1", retryAfter)
}

func TestMiddlewarePanicReleasesEveryPermit(t *testing.T) {
	bh := bulkhead.New(1)
	b := breaker.New(breaker.WithConsecutiveFailures(1), breaker.WithOpenDuration(time.Hour))
	boom := errors.New("boom")
	h := bulwarkhttp.Middleware(bulwark.New(b, bh))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic(boom)
	}))
	assert.PanicsWithValue(t, boom, func() {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	}, "the panic reaches net/http unchanged")
	assert.Zero(t, bh.Snapshot().InFlight, "the bulkhead has its permit back")
	assert.Equal(t, breaker.Open, b.State(), "a panic is a failure for the breaker")
}

func TestMiddlewarePanicThroughRealServer(t *testing.T) {
	bh := bulkhead.New(1)
	var n int
	var mu sync.Mutex
	srv := httptest.NewUnstartedServer(bulwarkhttp.Middleware(bh)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		n++
		first := n == 1
		mu.Unlock()
		if first {
			panic("handler bug")
		}
		io.WriteString(w, "fine") //nolint:errcheck
	})))
	srv.Config.ErrorLog = discardLog()
	srv.Start()
	defer srv.Close()
	_, err := srv.Client().Get(srv.URL)
	assert.Error(t, err, "net/http aborts the response of a panicking handler")
	code, body, _ := get(t, srv.Client(), srv.URL)
	assert.Equal(t, 200, code, "the permit of the panicking request came back")
	assert.Equal(t, "fine", body)
}

func TestMiddlewareAbortHandlerForGoneClientIsNotAFailure(t *testing.T) {
	rec := &recorder{}
	h := bulwarkhttp.Middleware(rec)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic(http.ErrAbortHandler)
	}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the client has gone
	req := httptest.NewRequest("GET", "/", nil).WithContext(ctx)
	assert.PanicsWithValue(t, http.ErrAbortHandler, func() { h.ServeHTTP(httptest.NewRecorder(), req) })
	errs, panics := rec.outcomes()
	assert.Empty(t, panics, "the policy saw no panic")
	require.Len(t, errs, 1)
	assert.True(t, bulwark.CallerCanceled(ctx, errs[0]), "but the caller's cancellation: %v", errs[0])

	// With the client still there, ErrAbortHandler is a panic like any.
	rec = &recorder{}
	h = bulwarkhttp.Middleware(rec)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic(http.ErrAbortHandler)
	}))
	assert.PanicsWithValue(t, http.ErrAbortHandler, func() {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	})
	_, panics = rec.outcomes()
	assert.Equal(t, []any{http.ErrAbortHandler}, panics)
}

func TestMiddlewareHandlerSeesThePolicysContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var deadline time.Time
		h := bulwarkhttp.Middleware(timeout.New(3 * time.Second))(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			deadline, _ = r.Context().Deadline()
		}))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		assert.Equal(t, time.Now().Add(3*time.Second), deadline)
	})
}

func TestMiddlewareConstructionPanics(t *testing.T) {
	assert.PanicsWithValue(t, "bulwark/bulwarkhttp: Middleware: policy must not be nil", func() {
		bulwarkhttp.Middleware(nil)
	})
	var b *breaker.Breaker
	assert.PanicsWithValue(t, "bulwark/bulwarkhttp: Middleware: policy must not be nil", func() {
		bulwarkhttp.Middleware(b)
	}, "a typed nil too")
	assert.PanicsWithValue(t, "bulwark/bulwarkhttp: Middleware: handler must not be nil", func() {
		bulwarkhttp.Middleware(&recorder{})(nil)
	})
	assert.PanicsWithValue(t, "bulwark/bulwarkhttp: WithAttemptTimeout: applies to Transport, got it in Middleware", func() {
		bulwarkhttp.Middleware(&recorder{}, bulwarkhttp.WithAttemptTimeout(time.Second))
	})
	assert.PanicsWithValue(t, "bulwark/bulwarkhttp: WithKey: applies to Middleware, got it in Transport", func() {
		bulwarkhttp.Transport(nil, &recorder{}, bulwarkhttp.WithKey(bulwarkhttp.ClientIP()))
	})
	assert.PanicsWithValue(t, "bulwark/bulwarkhttp: WithTimeoutStatus: status must be in [500, 599], got 200", func() {
		bulwarkhttp.WithTimeoutStatus(200)
	})
	assert.PanicsWithValue(t, "bulwark/bulwarkhttp: WithFailureStatus: predicate must not be nil", func() {
		bulwarkhttp.WithFailureStatus(nil)
	})
	assert.PanicsWithValue(t, "bulwark/bulwarkhttp: WithRejectionWriter: writer must not be nil", func() {
		bulwarkhttp.WithRejectionWriter(nil)
	})
	assert.PanicsWithValue(t, "bulwark/bulwarkhttp: WithKey: key function must not be nil", func() {
		bulwarkhttp.WithKey(nil)
	})
	assert.NotPanics(t, func() { bulwarkhttp.Middleware(&recorder{}, nil) }, "nil options are ignored")
}

func TestMiddlewareKeyReachesKeyedLimiterAndHandler(t *testing.T) {
	lim := ratelimit.NewKeyed(1e-9, 1, bulwarkhttp.KeyFromContext) // one call per key, ever
	var seen []string
	mw := bulwarkhttp.Middleware(lim, bulwarkhttp.WithKey(bulwarkhttp.HeaderKey("x-tenant")))
	h := mw(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		seen = append(seen, bulwarkhttp.KeyFromContext(r.Context()))
	}))
	codes := map[string][]int{}
	for _, tenant := range []string{"a", "b", "a", "b", "c"} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("X-Tenant", tenant)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		codes[tenant] = append(codes[tenant], w.Code)
	}
	assert.Equal(t, map[string][]int{"a": {200, 429}, "b": {200, 429}, "c": {200}}, codes)
	assert.Equal(t, []string{"a", "b", "c"}, seen)
}

// discardLog is a logger for servers whose handlers panic on purpose.
func discardLog() *log.Logger { return log.New(io.Discard, "", 0) }

func TestMiddlewarePanicsInItsOwnCallbacks(t *testing.T) {
	bh := bulkhead.New(1)
	boom := "boom"
	for name, opts := range map[string][]bulwarkhttp.Option{
		"in the status predicate": {bulwarkhttp.WithFailureStatus(func(int) bool { panic(boom) })},
		"in the key function":     {bulwarkhttp.WithKey(func(*http.Request) string { panic(boom) })},
	} {
		t.Run(name, func(t *testing.T) {
			h := bulwarkhttp.Middleware(bh, opts...)(okHandler)
			assert.PanicsWithValue(t, boom, func() {
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
			})
			assert.Zero(t, bh.Snapshot().InFlight)
		})
	}
	t.Run("in the rejection writer", func(t *testing.T) {
		h := bulwarkhttp.Middleware(refuse{bulkhead.ErrFull}, bulwarkhttp.WithRejectionWriter(
			func(http.ResponseWriter, *http.Request, int, error) { panic(boom) }))(okHandler)
		assert.PanicsWithValue(t, boom, func() {
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		})
	})
}
