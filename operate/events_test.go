package operate_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/operate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stream is a ResponseWriter that keeps what a server-sent events
// handler flushed, for a handler run inside a synctest bubble (a real
// connection is not durably blocking there).
type stream struct {
	mu      sync.Mutex
	header  http.Header
	code    int
	buf     bytes.Buffer
	flushed int // bytes of buf flushed
}

func newStream() *stream { return &stream{header: http.Header{}} }

func (s *stream) Header() http.Header { return s.header }
func (s *stream) WriteHeader(code int) {
	s.mu.Lock()
	s.code = code
	s.mu.Unlock()
}

func (s *stream) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(b)
}

func (s *stream) Flush() {
	s.mu.Lock()
	s.flushed = s.buf.Len()
	s.mu.Unlock()
}

// messages returns the data of the events flushed so far.
func (s *stream) messages(t *testing.T) []status {
	s.mu.Lock()
	text := s.buf.String()[:s.flushed]
	s.mu.Unlock()
	var out []status
	for _, m := range strings.Split(strings.TrimSuffix(text, "\n\n"), "\n\n") {
		if m == "" {
			continue
		}
		lines := strings.Split(m, "\n")
		require.Len(t, lines, 2, m)
		require.Equal(t, "event: status", lines[0])
		data, ok := strings.CutPrefix(lines[1], "data: ")
		require.True(t, ok, m)
		var st status
		require.NoError(t, json.Unmarshal([]byte(data), &st))
		out = append(out, st)
	}
	return out
}

// serveEvents runs GET /events of h until the returned stop is called.
func serveEvents(h http.Handler) (*stream, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	w := newStream()
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(w, httptest.NewRequest("GET", "/events", nil).WithContext(ctx))
	}()
	return w, func() { cancel(); <-done }
}

func TestEventsDeliverATransitionWithinOneInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New()
		r := operate.NewRegistry()
		require.NoError(t, r.Register("payments", b))
		w, stop := serveEvents(operate.Handler(r, operate.WithInterval(time.Second)))
		defer stop()

		synctest.Wait()
		assert.Equal(t, http.StatusOK, w.code)
		assert.Equal(t, "text/event-stream", w.header.Get("Content-Type"))
		msgs := w.messages(t)
		require.Len(t, msgs, 1, "the status is sent at once")
		assert.Equal(t, "closed", msgs[0].Policies[0].State)

		time.Sleep(300 * time.Millisecond)
		b.Isolate()
		synctest.Wait()
		require.Len(t, w.messages(t), 1)

		time.Sleep(700 * time.Millisecond) // one interval after the previous message
		synctest.Wait()
		msgs = w.messages(t)
		require.Len(t, msgs, 2, "the transition arrives with the next message, within one interval")
		assert.Equal(t, "isolated", msgs[1].Policies[0].State)
		require.NotEmpty(t, msgs[1].Policies[0].Events)
		assert.Equal(t, "isolated", msgs[1].Policies[0].Events[0].To)
	})
}

func TestEventsAreSentAtMostOncePerInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New()
		r := operate.NewRegistry()
		require.NoError(t, r.Register("payments", b))
		w, stop := serveEvents(operate.Handler(r)) // the default interval: 500ms
		for range 100 {
			b.Isolate()
			b.Reset()
			time.Sleep(100 * time.Millisecond)
		}
		synctest.Wait()
		assert.Len(t, w.messages(t), 21, "one at once, then one each 500ms over 10s")
		stop()
	})
}

func TestEventsEndWithTheRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := operate.NewRegistry()
		require.NoError(t, r.Register("payments", breaker.New()))
		_, stop := serveEvents(operate.Handler(r))
		time.Sleep(time.Second)
		stop() // returns once the handler has: no goroutine or ticker is left in the bubble
	})
}

func TestWithIntervalRefusesAnIntervalOutOfBounds(t *testing.T) {
	for _, d := range []time.Duration{-time.Second, 0, 99 * time.Millisecond, time.Minute + 1} {
		assert.PanicsWithValue(t, "bulwark/operate: WithInterval: interval must be in [100ms, 1m0s], got "+d.String(),
			func() { operate.WithInterval(d) })
	}
	assert.NotPanics(t, func() { operate.WithInterval(100 * time.Millisecond); operate.WithInterval(time.Minute) })
}

// A server that shuts down waits for open streams; one whose BaseContext
// ends at shutdown ends them, and its Shutdown returns.
func TestEventsEndWhenTheServersBaseContextEnds(t *testing.T) {
	r := operate.NewRegistry()
	require.NoError(t, r.Register("payments", breaker.New()))
	ctx, cancel := context.WithCancel(context.Background())
	srv := httptest.NewUnstartedServer(operate.Handler(r))
	srv.Config.BaseContext = func(net.Listener) context.Context { return ctx }
	srv.Start()

	res, err := srv.Client().Get(srv.URL + "/events")
	require.NoError(t, err)
	defer res.Body.Close()
	line, err := bufio.NewReader(res.Body).ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "event: status\n", line, "the stream is open")

	cancel()
	require.NoError(t, srv.Config.Shutdown(context.Background()), "Shutdown returns once the stream has ended")
	srv.Close()
}
