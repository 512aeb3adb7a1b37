package bulwarkhttp_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/fallback"
	"github.com/bulwark-go/bulwark/hedge"
	"github.com/bulwark-go/bulwark/middleware/bulwarkhttp"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// counting wraps a RoundTripper, counts the requests it sends and the
// response bodies left open.
type counting struct {
	rt   http.RoundTripper
	sent atomic.Int64
	open atomic.Int64
}

func (c *counting) RoundTrip(r *http.Request) (*http.Response, error) {
	c.sent.Add(1)
	resp, err := c.rt.RoundTrip(r)
	if resp != nil {
		c.open.Add(1)
		resp.Body = &countedBody{ReadCloser: resp.Body, open: &c.open}
	}
	return resp, err
}

type countedBody struct {
	io.ReadCloser
	open   *atomic.Int64
	closed atomic.Bool
}

func (b *countedBody) Close() error {
	if b.closed.CompareAndSwap(false, true) {
		b.open.Add(-1)
	}
	return b.ReadCloser.Close()
}

// flaky answers 503 (with a body) to the first fails requests of each
// test, then 200 with body "ok"; it counts what it served.
type flaky struct {
	fails int64
	n     atomic.Int64
	code  int
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body) //nolint:errcheck
	n := f.n.Add(1)
	if n <= f.fails {
		code := f.code
		if code == 0 {
			code = http.StatusServiceUnavailable
		}
		w.WriteHeader(code)
		io.WriteString(w, "attempt "+strconv.FormatInt(n, 10)) //nolint:errcheck
		return
	}
	io.WriteString(w, "ok") //nolint:errcheck
}

func noWait() bulwark.Policy { return retry.New(retry.WithDelay(0)) }

func roundTrip(t *testing.T, rt http.RoundTripper, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := rt.RoundTrip(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

func TestTransportRetriesOnlyWhatMayBeRepeated(t *testing.T) {
	tests := []struct {
		method string
		header string
		opts   []bulwarkhttp.Option
		hits   int64
	}{
		{method: "GET", hits: 3},
		{method: "HEAD", hits: 3},
		{method: "OPTIONS", hits: 3},
		{method: "TRACE", hits: 3},
		{method: "PUT", hits: 3},
		{method: "DELETE", hits: 3},
		{method: "POST", hits: 1},
		{method: "PATCH", hits: 1},
		{method: "POST", header: "Idempotency-Key", hits: 3},
		{method: "PATCH", header: "X-Idempotency-Key", hits: 3},
		{method: "POST", opts: []bulwarkhttp.Option{bulwarkhttp.WithIdempotent(func(*http.Request) bool { return true })}, hits: 3},
		{method: "GET", opts: []bulwarkhttp.Option{bulwarkhttp.WithIdempotent(func(*http.Request) bool { return false })}, hits: 1},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.header, func(t *testing.T) {
			f := &flaky{fails: 2}
			srv := httptest.NewServer(f)
			defer srv.Close()
			rt := bulwarkhttp.Transport(srv.Client().Transport, noWait(), tt.opts...)
			req, _ := http.NewRequest(tt.method, srv.URL, nil)
			if tt.header != "" {
				req.Header.Set(tt.header, "k-1")
			}
			resp, _ := roundTrip(t, rt, req)
			assert.Equal(t, tt.hits, f.n.Load())
			if tt.hits == 3 {
				assert.Equal(t, 200, resp.StatusCode)
			} else {
				assert.Equal(t, 503, resp.StatusCode, "sent once: its failure is the answer")
			}
		})
	}
}

func TestTransportReplaysBody(t *testing.T) {
	var bodies []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		n := len(bodies)
		mu.Unlock()
		if n < 3 {
			w.WriteHeader(503)
		}
	}))
	defer srv.Close()
	rt := bulwarkhttp.Transport(srv.Client().Transport, noWait())

	req, _ := http.NewRequest("PUT", srv.URL, strings.NewReader("payload"))
	require.NotNil(t, req.GetBody)
	resp, _ := roundTrip(t, rt, req)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, []string{"payload", "payload", "payload"}, bodies)

	// A body that cannot be replayed is sent once.
	bodies = nil
	req, _ = http.NewRequest("PUT", srv.URL, io.NopCloser(strings.NewReader("once")))
	req.GetBody = nil
	resp, _ = roundTrip(t, rt, req)
	assert.Equal(t, 503, resp.StatusCode)
	assert.Equal(t, []string{"once"}, bodies)
}

func TestTransportClosesTheBodyOfARequestNeverSent(t *testing.T) {
	b := breaker.New()
	b.Isolate()
	rt := bulwarkhttp.Transport(nil, b)
	body := &closeCounter{Reader: strings.NewReader("x")}
	req, _ := http.NewRequest("PUT", "http://192.0.2.1/", body)
	_, err := rt.RoundTrip(req)
	assert.ErrorIs(t, err, breaker.ErrOpen)
	assert.Equal(t, int32(1), body.closed.Load(), "RoundTrip closes the body, as its contract says")
}

type closeCounter struct {
	io.Reader
	closed atomic.Int32
}

func (c *closeCounter) Close() error { c.closed.Add(1); return nil }

func TestTransportExhaustionReturnsTheLastResponse(t *testing.T) {
	f := &flaky{fails: 1 << 30}
	srv := httptest.NewServer(f)
	defer srv.Close()
	base := &counting{rt: srv.Client().Transport}
	rt := bulwarkhttp.Transport(base, noWait())
	req, _ := http.NewRequest("GET", srv.URL, nil)
	resp, body := roundTrip(t, rt, req)
	assert.Equal(t, 503, resp.StatusCode)
	assert.Equal(t, "attempt 3", body, "the last real response, body intact")
	assert.Same(t, req, resp.Request, "its request is the caller's")
	assert.Equal(t, int64(3), base.sent.Load())
	assert.Zero(t, base.open.Load(), "the discarded responses were closed")
}

func TestTransport500IsAFailureNotRetried(t *testing.T) {
	f := &flaky{fails: 1 << 30, code: 500}
	srv := httptest.NewServer(f)
	defer srv.Close()
	b := breaker.New(breaker.WithConsecutiveFailures(2), breaker.WithOpenDuration(time.Hour))
	rt := bulwarkhttp.Transport(srv.Client().Transport, bulwark.New(retry.New(retry.WithDelay(0)), b))
	for i := range 2 {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		resp, body := roundTrip(t, rt, req)
		assert.Equal(t, 500, resp.StatusCode)
		assert.Equal(t, "attempt "+strconv.Itoa(i+1), body)
	}
	assert.Equal(t, int64(2), f.n.Load(), "one attempt each: not retried")
	assert.Equal(t, breaker.Open, b.State(), "but counted by the breaker")
}

func TestTransport4xxIsAnAnswer(t *testing.T) {
	f := &flaky{fails: 1 << 30, code: 404}
	srv := httptest.NewServer(f)
	defer srv.Close()
	b := breaker.New(breaker.WithConsecutiveFailures(1))
	rt := bulwarkhttp.Transport(srv.Client().Transport, bulwark.New(noWait(), b))
	req, _ := http.NewRequest("GET", srv.URL, nil)
	resp, _ := roundTrip(t, rt, req)
	assert.Equal(t, 404, resp.StatusCode)
	assert.Equal(t, int64(1), f.n.Load())
	assert.Equal(t, breaker.Closed, b.State())
}

func TestTransportClassifierOption(t *testing.T) {
	f := &flaky{fails: 2, code: 404}
	srv := httptest.NewServer(f)
	defer srv.Close()
	retry404 := func(resp *http.Response, err error) bulwarkhttp.Class {
		if resp != nil && resp.StatusCode == 404 {
			return bulwarkhttp.ClassRetry
		}
		return bulwarkhttp.DefaultClassifier(resp, err)
	}
	rt := bulwarkhttp.Transport(srv.Client().Transport, noWait(), bulwarkhttp.WithClassifier(retry404))
	req, _ := http.NewRequest("GET", srv.URL, nil)
	resp, _ := roundTrip(t, rt, req)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, int64(3), f.n.Load())
}

func TestTransportPermanentClassIsNotRetriedAndASuccessForABreaker(t *testing.T) {
	f := &flaky{fails: 1 << 30, code: 501}
	srv := httptest.NewServer(f)
	defer srv.Close()
	permanent501 := func(resp *http.Response, err error) bulwarkhttp.Class {
		if resp != nil && resp.StatusCode == 501 {
			return bulwarkhttp.ClassPermanent
		}
		return bulwarkhttp.DefaultClassifier(resp, err)
	}
	b := breaker.New(breaker.WithConsecutiveFailures(1))
	rt := bulwarkhttp.Transport(srv.Client().Transport, bulwark.New(noWait(), b), bulwarkhttp.WithClassifier(permanent501))
	req, _ := http.NewRequest("GET", srv.URL, nil)
	resp, _ := roundTrip(t, rt, req)
	assert.Equal(t, 501, resp.StatusCode)
	assert.Equal(t, int64(1), f.n.Load())
	assert.Equal(t, breaker.Closed, b.State())
}

func TestTransportRetryAfter(t *testing.T) {
	at := func(d time.Duration) string { return time.Now().Add(d).UTC().Format(http.TimeFormat) }
	tests := []struct {
		name       string
		code       int
		retryAfter func() string
		opts       []bulwarkhttp.Option
		policy     func() bulwark.Policy
		wait       time.Duration
	}{
		{name: "delta-seconds on 503", code: 503, retryAfter: func() string { return "2" }, wait: 2 * time.Second},
		{name: "delta-seconds on 429", code: 429, retryAfter: func() string { return "3" }, wait: 3 * time.Second},
		{name: "HTTP-date", code: 503, retryAfter: func() string { return at(4 * time.Second) }, wait: 4 * time.Second},
		{name: "date in the past: at once", code: 503, retryAfter: func() string { return at(-time.Hour) }, wait: 0},
		{name: "capped", code: 503, retryAfter: func() string { return "3600" },
			opts: []bulwarkhttp.Option{bulwarkhttp.WithMaxRetryAfter(5 * time.Second)}, wait: 5 * time.Second},
		{name: "default cap 30s", code: 429, retryAfter: func() string { return "9223372036854775807" }, wait: 30 * time.Second},
		{name: "ignored on 502: the backoff", code: 502, retryAfter: func() string { return "60" }, wait: time.Second},
		{name: "garbage: the backoff", code: 503, retryAfter: func() string { return "soon" }, wait: time.Second},
		{name: "negative: the backoff", code: 503, retryAfter: func() string { return "-5" }, wait: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var n atomic.Int32
				tr := pipeServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					if n.Add(1) == 1 {
						w.Header().Set("Retry-After", tt.retryAfter())
						w.WriteHeader(tt.code)
						return
					}
					io.WriteString(w, "ok") //nolint:errcheck
				}))
				p := bulwark.Policy(retry.New(retry.WithDelay(time.Second)))
				rt := bulwarkhttp.Transport(tr, p, tt.opts...)
				req, _ := http.NewRequest("GET", "http://upstream/", nil)
				start := time.Now()
				resp, body := roundTrip(t, rt, req)
				assert.Equal(t, tt.wait, time.Since(start))
				assert.Equal(t, 200, resp.StatusCode)
				assert.Equal(t, "ok", body)
			})
		})
	}
}

func TestTransportRetryAfterThatDoesNotFitStopsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		tr := pipeServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			n.Add(1)
			w.Header().Set("Retry-After", "10")
			w.WriteHeader(503)
			io.WriteString(w, "come back later") //nolint:errcheck
		}))
		rt := bulwarkhttp.Transport(tr, retry.New())
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://upstream/", nil)
		start := time.Now()
		resp, body := roundTrip(t, rt, req)
		assert.Zero(t, time.Since(start), "no wait that cannot end before the deadline")
		assert.Equal(t, 503, resp.StatusCode)
		assert.Equal(t, "10", resp.Header.Get("Retry-After"))
		assert.Equal(t, "come back later", body)
		assert.Equal(t, int32(1), n.Load())
	})
}

func TestTransportPerHostPolicies(t *testing.T) {
	bad := httptest.NewServer(&flaky{fails: 1 << 30, code: 500})
	defer bad.Close()
	good := httptest.NewServer(&flaky{})
	defer good.Close()
	var built []string
	var mu sync.Mutex
	factory := func(host string) bulwark.Policy {
		mu.Lock()
		built = append(built, host)
		mu.Unlock()
		return breaker.New(breaker.WithConsecutiveFailures(2), breaker.WithOpenDuration(time.Hour))
	}
	rt := bulwarkhttp.Transport(good.Client().Transport, noWait(), bulwarkhttp.WithHostPolicy(10, factory))
	do := func(url string) (*http.Response, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		resp, err := rt.RoundTrip(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body) //nolint:errcheck
			resp.Body.Close()
		}
		return resp, err
	}
	for range 2 {
		resp, err := do(bad.URL)
		require.NoError(t, err)
		assert.Equal(t, 500, resp.StatusCode)
	}
	_, err := do(bad.URL)
	assert.ErrorIs(t, err, breaker.ErrOpen, "the bad host's breaker is open")
	resp, err := do(good.URL)
	require.NoError(t, err, "the good host's is not")
	assert.Equal(t, 200, resp.StatusCode)
	assert.ElementsMatch(t, []string{strings.TrimPrefix(bad.URL, "http://"), strings.TrimPrefix(good.URL, "http://")}, built)
}

func TestTransportHostPoliciesAreBounded(t *testing.T) {
	a := httptest.NewServer(&flaky{})
	defer a.Close()
	b := httptest.NewServer(&flaky{})
	defer b.Close()
	var built atomic.Int32
	rt := bulwarkhttp.Transport(a.Client().Transport, noWait(), bulwarkhttp.WithHostPolicy(1, func(string) bulwark.Policy {
		built.Add(1)
		return breaker.New()
	}))
	for _, u := range []string{a.URL, a.URL, b.URL, a.URL} {
		req, _ := http.NewRequest("GET", u, nil)
		roundTrip(t, rt, req)
	}
	assert.Equal(t, int32(3), built.Load(), "one host kept: a, then b, then a again")
}

func TestTransportLeak1000Requests(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if served.Add(1)%3 != 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, strings.Repeat("busy ", 200)) //nolint:errcheck
			return
		}
		io.WriteString(w, "ok") //nolint:errcheck
	}))
	var newConns atomic.Int64
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			newConns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	base := &counting{rt: srv.Client().Transport}
	rt := bulwarkhttp.Transport(base, noWait())
	client := &http.Client{Transport: rt}
	for range 1000 {
		resp, err := client.Get(srv.URL)
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
		require.Equal(t, "ok", string(b))
	}
	t.Logf("1000 requests, %d attempts: %d response bodies left open, %d connections opened", base.sent.Load(), base.open.Load(), newConns.Load())
	assert.Equal(t, int64(3000), base.sent.Load(), "two failures then a success, every time")
	assert.Zero(t, base.open.Load(), "every response body was closed")
	assert.Equal(t, int64(1), newConns.Load(), "one connection, reused for every attempt")
}

func TestTransportTimeoutsNeverCancelTheBody(t *testing.T) {
	tests := []struct {
		name   string
		policy func() bulwark.Policy
		opts   []bulwarkhttp.Option
	}{
		{name: "WithAttemptTimeout", policy: noWait, opts: []bulwarkhttp.Option{bulwarkhttp.WithAttemptTimeout(time.Second)}},
		{name: "WithTotalTimeout", policy: noWait, opts: []bulwarkhttp.Option{bulwarkhttp.WithTotalTimeout(time.Second)}},
		{name: "timeout.Timeout per attempt", policy: func() bulwark.Policy { return bulwark.New(noWait(), timeout.New(time.Second)) }},
		{name: "timeout.Timeout in total", policy: func() bulwark.Policy { return bulwark.New(timeout.New(time.Second), noWait()) }},
		{name: "standard transport", policy: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr := pipeServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					io.WriteString(w, "first ") //nolint:errcheck
					w.(http.Flusher).Flush()
					time.Sleep(5 * time.Second) // well past every timeout
					io.WriteString(w, "second") //nolint:errcheck
				}))
				var rt http.RoundTripper
				if tt.policy == nil {
					rt = bulwarkhttp.StandardTransport(tr, bulwarkhttp.WithAttemptTimeout(time.Second), bulwarkhttp.WithTotalTimeout(time.Second))
				} else {
					rt = bulwarkhttp.Transport(tr, tt.policy(), tt.opts...)
				}
				req, _ := http.NewRequest("GET", "http://upstream/", nil)
				start := time.Now()
				resp, body := roundTrip(t, rt, req)
				assert.Equal(t, 200, resp.StatusCode)
				assert.Equal(t, "first second", body, "the body outlives the timeouts")
				assert.Equal(t, 5*time.Second, time.Since(start))
			})
		})
	}
}

func TestTransportTimeoutsBoundTheWaitForHeaders(t *testing.T) {
	tests := []struct {
		name    string
		policy  func() bulwark.Policy
		opts    []bulwarkhttp.Option
		hits    int32
		elapsed time.Duration
	}{
		{name: "WithAttemptTimeout, retried", policy: noWait, opts: []bulwarkhttp.Option{bulwarkhttp.WithAttemptTimeout(time.Second)}, hits: 3, elapsed: 3 * time.Second},
		{name: "timeout.Timeout per attempt, retried", policy: func() bulwark.Policy { return bulwark.New(noWait(), timeout.New(time.Second)) }, hits: 3, elapsed: 3 * time.Second},
		{name: "WithTotalTimeout", policy: noWait, opts: []bulwarkhttp.Option{bulwarkhttp.WithTotalTimeout(2 * time.Second)}, hits: 1, elapsed: 2 * time.Second},
		{name: "timeout.Timeout in total", policy: func() bulwark.Policy { return bulwark.New(timeout.New(2*time.Second), noWait()) }, hits: 1, elapsed: 2 * time.Second},
		// The third attempt would not fit the 500ms left: retry gives up at 2s.
		{name: "both", policy: noWait, opts: []bulwarkhttp.Option{bulwarkhttp.WithTotalTimeout(2500 * time.Millisecond), bulwarkhttp.WithAttemptTimeout(time.Second)}, hits: 2, elapsed: 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var hits atomic.Int32
				tr := pipeServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					hits.Add(1)
					select {
					case <-time.After(time.Minute):
					case <-r.Context().Done(): // the client gave up
					}
				}))
				rt := bulwarkhttp.Transport(tr, tt.policy(), tt.opts...)
				req, _ := http.NewRequest("GET", "http://upstream/", nil)
				start := time.Now()
				_, err := rt.RoundTrip(req)
				assert.ErrorIs(t, err, timeout.ErrTimeout)
				assert.ErrorIs(t, err, context.DeadlineExceeded)
				assert.Equal(t, tt.elapsed, time.Since(start))
				assert.Equal(t, tt.hits, hits.Load())
			})
		})
	}
}

func TestTransportCallerCancelsMidBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := pipeServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "start") //nolint:errcheck
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}))
		base := &counting{rt: tr}
		ctx, cancel := context.WithCancel(context.Background())
		rt := bulwarkhttp.Transport(base, bulwark.New(noWait(), timeout.New(time.Second)), bulwarkhttp.WithAttemptTimeout(time.Second))
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://upstream/", nil)
		resp, err := rt.RoundTrip(req)
		require.NoError(t, err)
		buf := make([]byte, 5)
		_, err = io.ReadFull(resp.Body, buf)
		require.NoError(t, err)
		assert.Equal(t, "start", string(buf))
		time.Sleep(10 * time.Second) // the timeouts have long passed: the body is alive
		cancel()
		_, err = io.ReadAll(resp.Body)
		assert.ErrorIs(t, err, context.Canceled, "the caller's cancellation ends the body")
		resp.Body.Close()
		assert.Zero(t, base.open.Load())
	})
}

func TestTransportPanicsPassThroughAndReleaseEverything(t *testing.T) {
	tests := []struct {
		name  string
		setup func(srv string, bh *bulkhead.Bulkhead, base http.RoundTripper) (http.RoundTripper, *http.Request)
	}{
		{"in the base RoundTripper, first attempt", func(srv string, bh *bulkhead.Bulkhead, base http.RoundTripper) (http.RoundTripper, *http.Request) {
			req, _ := http.NewRequest("GET", srv, nil)
			return bulwarkhttp.Transport(panicAfter(base, 0), bulwark.New(noWait(), bh)), req
		}},
		{"in the base RoundTripper, after a kept response", func(srv string, bh *bulkhead.Bulkhead, base http.RoundTripper) (http.RoundTripper, *http.Request) {
			req, _ := http.NewRequest("GET", srv, nil)
			return bulwarkhttp.Transport(panicAfter(base, 1), bulwark.New(noWait(), bh)), req
		}},
		{"in the classifier", func(srv string, bh *bulkhead.Bulkhead, base http.RoundTripper) (http.RoundTripper, *http.Request) {
			req, _ := http.NewRequest("GET", srv, nil)
			return bulwarkhttp.Transport(base, bulwark.New(noWait(), bh), bulwarkhttp.WithClassifier(func(*http.Response, error) bulwarkhttp.Class {
				panic("boom")
			})), req
		}},
		{"in the host policy factory", func(srv string, bh *bulkhead.Bulkhead, base http.RoundTripper) (http.RoundTripper, *http.Request) {
			req, _ := http.NewRequest("GET", srv, nil)
			return bulwarkhttp.Transport(base, bulwark.New(noWait(), bh), bulwarkhttp.WithHostPolicy(1, func(string) bulwark.Policy {
				panic("boom")
			})), req
		}},
		{"in GetBody", func(srv string, bh *bulkhead.Bulkhead, base http.RoundTripper) (http.RoundTripper, *http.Request) {
			req, _ := http.NewRequest("PUT", srv, strings.NewReader("x"))
			req.GetBody = func() (io.ReadCloser, error) { panic("boom") }
			return bulwarkhttp.Transport(base, bulwark.New(noWait(), bh)), req
		}},
		{"in the idempotency predicate", func(srv string, bh *bulkhead.Bulkhead, base http.RoundTripper) (http.RoundTripper, *http.Request) {
			req, _ := http.NewRequest("GET", srv, nil)
			return bulwarkhttp.Transport(base, bulwark.New(noWait(), bh), bulwarkhttp.WithIdempotent(func(*http.Request) bool { panic("boom") })), req
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(&flaky{fails: 1 << 30})
			defer srv.Close()
			base := &counting{rt: srv.Client().Transport}
			bh := bulkhead.New(1)
			rt, req := tt.setup(srv.URL, bh, base)
			assert.PanicsWithValue(t, "boom", func() { rt.RoundTrip(req) }) //nolint:errcheck
			assert.Zero(t, bh.Snapshot().InFlight, "the bulkhead has its permit back")
			assert.Zero(t, base.open.Load(), "no response body is left open")
			srv.Client().Transport.(*http.Transport).CloseIdleConnections()
		})
	}
}

// panicAfter returns a RoundTripper that sends n requests with rt, then
// panics.
func panicAfter(rt http.RoundTripper, n int) http.RoundTripper {
	var sent atomic.Int32
	return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		if int(sent.Add(1)) > n {
			panic("boom")
		}
		return rt.RoundTrip(r)
	})
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestTransportNilBaseIsDefaultTransport(t *testing.T) {
	srv := httptest.NewServer(&flaky{})
	defer srv.Close()
	var typedNil *http.Transport
	for _, base := range []http.RoundTripper{nil, typedNil} {
		rt := bulwarkhttp.Transport(base, noWait())
		req, _ := http.NewRequest("GET", srv.URL, nil)
		resp, body := roundTrip(t, rt, req)
		assert.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, "ok", body)
	}
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
}

func TestTransportConstructionPanics(t *testing.T) {
	assert.PanicsWithValue(t, "bulwark/bulwarkhttp: Transport: policy must not be nil", func() {
		bulwarkhttp.Transport(nil, nil)
	})
	var r *retry.Retry
	assert.PanicsWithValue(t, "bulwark/bulwarkhttp: Transport: policy must not be nil", func() {
		bulwarkhttp.Transport(nil, r)
	})
	for _, tt := range []struct {
		msg string
		f   func()
	}{
		{"bulwark/bulwarkhttp: WithAttemptTimeout: duration must be > 0, got 0s", func() { bulwarkhttp.WithAttemptTimeout(0) }},
		{"bulwark/bulwarkhttp: WithTotalTimeout: duration must be > 0, got -1ns", func() { bulwarkhttp.WithTotalTimeout(-1) }},
		{"bulwark/bulwarkhttp: WithMaxRetryAfter: duration must be > 0, got 0s", func() { bulwarkhttp.WithMaxRetryAfter(0) }},
		{"bulwark/bulwarkhttp: WithHostPolicy: maxHosts must be >= 1, got 0", func() { bulwarkhttp.WithHostPolicy(0, func(string) bulwark.Policy { return nil }) }},
		{"bulwark/bulwarkhttp: WithHostPolicy: factory must not be nil", func() { bulwarkhttp.WithHostPolicy(1, nil) }},
		{"bulwark/bulwarkhttp: WithClassifier: classifier must not be nil", func() { bulwarkhttp.WithClassifier(nil) }},
		{"bulwark/bulwarkhttp: WithIdempotent: predicate must not be nil", func() { bulwarkhttp.WithIdempotent(nil) }},
	} {
		assert.PanicsWithValue(t, tt.msg, tt.f)
	}
}

func TestTransportMalformedRequests(t *testing.T) {
	rt := bulwarkhttp.Transport(nil, noWait())
	_, err := rt.RoundTrip(nil)
	assert.ErrorContains(t, err, "request is nil")
	_, err = rt.RoundTrip(&http.Request{Method: "GET"})
	assert.ErrorContains(t, err, "request has no URL")
}

func TestTransportKeyIsTheHost(t *testing.T) {
	srv := httptest.NewServer(&flaky{})
	defer srv.Close()
	var key string
	p := policyFunc(func(ctx context.Context, fn func(context.Context) error) error {
		key = bulwarkhttp.KeyFromContext(ctx)
		return fn(ctx)
	})
	req, _ := http.NewRequest("GET", srv.URL, nil)
	roundTrip(t, bulwarkhttp.Transport(srv.Client().Transport, p), req)
	assert.Equal(t, req.URL.Host, key)
}

type policyFunc func(context.Context, func(context.Context) error) error

func (f policyFunc) Execute(ctx context.Context, fn func(context.Context) error) error {
	return f(ctx, fn)
}

func TestTransportPermanentTransportErrors(t *testing.T) {
	tlsSrv := httptest.NewUnstartedServer(&flaky{})
	tlsSrv.Config.ErrorLog = discardLog() // the handshakes fail on purpose
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	for _, url := range []string{tlsSrv.URL, "ftp://example.com/", "http:///no-host"} {
		t.Run(url, func(t *testing.T) {
			rec := &recorder{}
			base := &http.Transport{} // trusts not the test server's certificate
			defer base.CloseIdleConnections()
			rt := bulwarkhttp.Transport(base, bulwark.New(noWait(), rec))
			req, err := http.NewRequest("GET", url, nil)
			require.NoError(t, err)
			_, err = rt.RoundTrip(req)
			require.Error(t, err)
			errs, _ := rec.outcomes()
			require.Len(t, errs, 1, "not retried")
			assert.True(t, bulwark.IsPermanent(errs[0]), "permanent: %v", errs[0])
		})
	}
}

func TestTransportTransportErrorsAreRetried(t *testing.T) {
	srv := httptest.NewServer(&flaky{})
	url := srv.URL
	srv.Close() // connection refused from now on
	rec := &recorder{}
	rt := bulwarkhttp.Transport(nil, bulwark.New(noWait(), rec))
	req, _ := http.NewRequest("GET", url, nil)
	_, err := rt.RoundTrip(req)
	assert.ErrorIs(t, err, retry.ErrExhausted)
	errs, _ := rec.outcomes()
	assert.Len(t, errs, 3)
}

func TestTransportHedgeSendsARequestThatMayNotBeRepeatedOnce(t *testing.T) {
	for _, tt := range []struct {
		method string
		hits   int32
	}{{"POST", 1}, {"GET", 2}} {
		t.Run(tt.method, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var hits atomic.Int32
				tr := pipeServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					io.Copy(io.Discard, r.Body) //nolint:errcheck // then net/http watches the connection
					n := hits.Add(1)
					select {
					case <-time.After(time.Duration(3-n) * time.Second): // the hedge answers first
					case <-r.Context().Done():
						return
					}
					io.WriteString(w, "answer "+strconv.Itoa(int(n))) //nolint:errcheck
				}))
				rt := bulwarkhttp.Transport(tr, hedge.New(hedge.WithDelay(100*time.Millisecond)))
				req, _ := http.NewRequest(tt.method, "http://upstream/", strings.NewReader("b"))
				resp, body := roundTrip(t, rt, req)
				assert.Equal(t, 200, resp.StatusCode)
				assert.Equal(t, tt.hits, hits.Load())
				assert.Equal(t, "answer "+strconv.Itoa(int(tt.hits)), body)
			})
		})
	}
}

func TestTransportFallbackCannotSupplyAResponse(t *testing.T) {
	srv := httptest.NewServer(&flaky{fails: 1 << 30, code: 500})
	defer srv.Close()
	var fallbackCtxDone bool
	p := fallback.New(func(ctx context.Context, err error) error {
		fallbackCtxDone = ctx.Err() != nil
		return nil
	})
	base := &counting{rt: srv.Client().Transport}
	rt := bulwarkhttp.Transport(base, bulwark.New(p, noWait()))
	req, _ := http.NewRequest("GET", srv.URL, nil)
	_, err := rt.RoundTrip(req)
	assert.ErrorContains(t, err, "without a response")
	assert.False(t, fallbackCtxDone, "a failure not retried leaves the policies' context alive")
	assert.Zero(t, base.open.Load())
}

func TestTransportConcurrentUse(t *testing.T) {
	var seen sync.Map // the first attempt of each request fails
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, again := seen.LoadOrStore(r.URL.RawQuery, true); !again {
			w.WriteHeader(503)
			io.WriteString(w, "busy") //nolint:errcheck
			return
		}
		io.WriteString(w, "ok") //nolint:errcheck
	}))
	defer srv.Close()
	base := &counting{rt: srv.Client().Transport}
	client := &http.Client{Transport: bulwarkhttp.Transport(base, noWait(),
		bulwarkhttp.WithHostPolicy(10, func(string) bulwark.Policy { return breaker.New(breaker.WithFailureRatio(0.9)) }),
		bulwarkhttp.WithAttemptTimeout(time.Minute), bulwarkhttp.WithTotalTimeout(time.Minute))}
	var wg sync.WaitGroup
	var id atomic.Int64
	for range 8 {
		wg.Go(func() {
			for range 50 {
				resp, err := client.Get(srv.URL + "?id=" + strconv.FormatInt(id.Add(1), 10))
				if !assert.NoError(t, err) {
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				assert.Equal(t, 200, resp.StatusCode)
				assert.Equal(t, "ok", string(b))
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int64(800), base.sent.Load())
	assert.Zero(t, base.open.Load())
}

func TestTransportTotalTimeoutClosesAnUnsentBodyOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// A policy that waits for its context and never calls the
		// function: the request is never sent.
		wait := policyFunc(func(ctx context.Context, _ func(context.Context) error) error {
			<-ctx.Done()
			return ctx.Err()
		})
		rt := bulwarkhttp.Transport(nil, wait, bulwarkhttp.WithTotalTimeout(time.Second))
		body := &closeCounter{Reader: strings.NewReader("x")}
		req, _ := http.NewRequest("PUT", "http://upstream/", body)
		_, err := rt.RoundTrip(req)
		assert.ErrorIs(t, err, timeout.ErrTimeout)
		assert.Equal(t, int32(1), body.closed.Load())
	})
}

func TestTransportHostFactoryReturningNilIsNotRetried(t *testing.T) {
	var built atomic.Int32
	rt := bulwarkhttp.Transport(nil, noWait(), bulwarkhttp.WithHostPolicy(1, func(string) bulwark.Policy {
		built.Add(1)
		return nil
	}))
	req, _ := http.NewRequest("GET", "http://upstream/", nil)
	_, err := rt.RoundTrip(req)
	assert.ErrorContains(t, err, "the policy factory returned nil")
	assert.Equal(t, int32(1), built.Load())
}

func TestTransportPolicyRunningAgainAfterASendOnceKeepsTheAnswer(t *testing.T) {
	f := &flaky{fails: 1 << 30}
	srv := httptest.NewServer(f)
	defer srv.Close()
	// A policy of someone else's that retries whatever happens, context
	// or not.
	stubborn := policyFunc(func(ctx context.Context, fn func(context.Context) error) error {
		var err error
		for range 3 {
			if err = fn(context.WithoutCancel(ctx)); err == nil {
				return nil
			}
		}
		return err
	})
	base := &counting{rt: srv.Client().Transport}
	rt := bulwarkhttp.Transport(base, stubborn)
	req, _ := http.NewRequest("POST", srv.URL, strings.NewReader("once"))
	resp, err := rt.RoundTrip(req)
	assert.Equal(t, int64(1), base.sent.Load(), "a POST is sent once, whatever the policy")
	assert.ErrorContains(t, err, "sent once and may not be sent again")
	assert.Nil(t, resp)
	assert.Zero(t, base.open.Load())
}

func TestTransportRequestRejectedBeforeSendingMayStillGo(t *testing.T) {
	f := &flaky{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	// Inside the retry, a limiter that refuses the first attempt with a
	// hint of "now": the POST never went out, so it may go on the next.
	var calls atomic.Int32
	refuseOnce := policyFunc(func(ctx context.Context, fn func(context.Context) error) error {
		if calls.Add(1) == 1 {
			return bulwark.WithRetryAfter(ratelimitErr{}, 0)
		}
		return fn(ctx)
	})
	rt := bulwarkhttp.Transport(srv.Client().Transport, bulwark.New(noWait(), refuseOnce))
	req, _ := http.NewRequest("POST", srv.URL, strings.NewReader("order"))
	resp, body := roundTrip(t, rt, req)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "ok", body)
	assert.Equal(t, int64(1), f.n.Load(), "sent once, on the second attempt")
}

// ratelimitErr is a local rejection.
type ratelimitErr struct{}

func (ratelimitErr) Error() string   { return "limited" }
func (ratelimitErr) Is(t error) bool { return t == bulwark.ErrRejected }

type ctxKey struct{}

func TestTransportPolicyValuesDoNotReachTheBase(t *testing.T) {
	addValue := policyFunc(func(ctx context.Context, fn func(context.Context) error) error {
		return fn(context.WithValue(ctx, ctxKey{}, "policy"))
	})
	var seen any = "unset"
	base := roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		seen = r.Context().Value(ctxKey{})
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
	})
	req, _ := http.NewRequestWithContext(context.WithValue(context.Background(), ctxKey{}, "caller"), "GET", "http://upstream/", nil)
	for _, opts := range [][]bulwarkhttp.Option{nil, {bulwarkhttp.WithAttemptTimeout(time.Second)}} {
		resp, err := bulwarkhttp.Transport(base, addValue, opts...).RoundTrip(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, "caller", seen, "the request runs under the caller's context, as the package doc says")
	}
}

func TestStandardTransport(t *testing.T) {
	t.Run("three attempts", func(t *testing.T) {
		f := &flaky{fails: 2}
		srv := httptest.NewServer(f)
		defer srv.Close()
		req, _ := http.NewRequest("GET", srv.URL, nil)
		resp, body := roundTrip(t, bulwarkhttp.StandardTransport(srv.Client().Transport), req)
		assert.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, "ok", body)
		assert.Equal(t, int64(3), f.n.Load())
	})
	t.Run("attempts of 10s within 30s", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var hits atomic.Int32
			tr := pipeServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				<-r.Context().Done()
			}))
			req, _ := http.NewRequest("GET", "http://upstream/", nil)
			start := time.Now()
			_, err := bulwarkhttp.StandardTransport(tr).RoundTrip(req)
			took := time.Since(start)
			assert.ErrorIs(t, err, timeout.ErrTimeout)
			assert.ErrorIs(t, err, retry.ErrExhausted)
			// Two attempts of 10s and a backoff of up to 200ms: a third
			// could not end within the 30s.
			assert.Equal(t, int32(2), hits.Load())
			assert.GreaterOrEqual(t, took, 20*time.Second)
			assert.Less(t, took, 21*time.Second)
		})
	})
	t.Run("a breaker per host opens at half of 20", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var hits atomic.Int32
			tr := pipeServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				w.WriteHeader(http.StatusInternalServerError) // a failure, not retried
			}))
			rt := bulwarkhttp.StandardTransport(tr)
			do := func(host string) (*http.Response, error) {
				req, _ := http.NewRequest("GET", "http://"+host+"/", nil)
				resp, err := rt.RoundTrip(req)
				if err == nil {
					resp.Body.Close()
				}
				return resp, err
			}
			for range 20 {
				resp, err := do("a.internal")
				require.NoError(t, err)
				assert.Equal(t, 500, resp.StatusCode)
			}
			start := time.Now()
			_, err := do("a.internal")
			assert.ErrorIs(t, err, breaker.ErrOpen, "open after 20 failures")
			assert.Zero(t, time.Since(start), "and failing at once, not waited out")
			assert.Equal(t, int32(20), hits.Load())
			resp, err := do("b.internal")
			require.NoError(t, err, "the other host's breaker is closed")
			assert.Equal(t, 500, resp.StatusCode)
			time.Sleep(5 * time.Second)
			resp, err = do("a.internal")
			require.NoError(t, err, "half-open after 5s: one probe goes")
			assert.Equal(t, 500, resp.StatusCode)
		})
	})
}

func TestTransportBaseBreakingItsContract(t *testing.T) {
	// A response without a body, and a response beside an error.
	var calls atomic.Int32
	body := &closeCounter{Reader: strings.NewReader("x")}
	base := roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		if calls.Add(1) == 1 {
			return &http.Response{StatusCode: 503, Request: r}, nil
		}
		return &http.Response{StatusCode: 200, Body: body, Request: r}, errors.New("both")
	})
	rt := bulwarkhttp.Transport(base, retry.New(retry.WithDelay(0), retry.WithMaxAttempts(2)))
	req, _ := http.NewRequest("GET", "http://upstream/", nil)
	assert.NotPanics(t, func() {
		_, err := rt.RoundTrip(req)
		assert.ErrorContains(t, err, "both")
	})
	assert.Equal(t, int32(1), body.closed.Load(), "the response beside the error was closed")
}
