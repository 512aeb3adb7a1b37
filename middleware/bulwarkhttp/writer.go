package bulwarkhttp

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
)

// respWriter is what the handler writes through: it records the status,
// so that the policy learns the handler's outcome, and shuts the handler
// out once ServeHTTP is over. It implements exactly the optional
// interfaces (http.Flusher, http.Hijacker, io.ReaderFrom) of the
// ResponseWriter it wraps, through the variants below, so that a handler
// asking for one gets the truth; Unwrap gives http.ResponseController the
// rest (deadlines, full duplex).
type respWriter struct {
	w      http.ResponseWriter
	s      *serve
	status int // the final status written, 0 until then

	// mu is held by each of the handler's writes, and done set once
	// ServeHTTP is done with the handler. A handler abandoned by a
	// timeout (timeout.WithAbandon) goes on running after the middleware
	// returned, and net/http forbids touching a ResponseWriter then: its
	// writes fail with http.ErrHandlerTimeout instead.
	mu   sync.Mutex
	done bool
}

func (rw *respWriter) enter() bool {
	rw.mu.Lock()
	if rw.done {
		rw.mu.Unlock()
		return false
	}
	return true
}

func (rw *respWriter) exit() { rw.mu.Unlock() }

// close shuts the handler out, once a write in progress has ended.
func (rw *respWriter) close() {
	rw.mu.Lock()
	rw.done = true
	rw.mu.Unlock()
}

// Header returns the wrapped writer's header map. An abandoned handler
// gets a map of its own, so that it cannot race with net/http.
func (rw *respWriter) Header() http.Header {
	if !rw.enter() {
		return http.Header{}
	}
	defer rw.exit()
	return rw.w.Header()
}

// WriteHeader records the status, which the policy reads as the handler's
// outcome, and writes it. Informational statuses (1xx but 101) are not
// the final one and are passed on without being recorded.
func (rw *respWriter) WriteHeader(code int) {
	if !rw.enter() {
		return
	}
	defer rw.exit()
	if rw.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		rw.begin(code)
	}
	rw.w.WriteHeader(code)
}

// begin records the final status and adds the RateLimit headers the
// middleware was asked for, before the header goes out.
func (rw *respWriter) begin(code int) {
	rw.status = code
	if q := rw.s.h.cfg.quota; q != nil {
		q.set(rw.w.Header(), rw.s)
	}
}

func (rw *respWriter) Write(p []byte) (int, error) {
	if !rw.enter() {
		return 0, http.ErrHandlerTimeout
	}
	defer rw.exit()
	if rw.status == 0 {
		rw.begin(http.StatusOK)
	}
	return rw.w.Write(p)
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (rw *respWriter) Unwrap() http.ResponseWriter { return rw.w }

func (rw *respWriter) flush() {
	if !rw.enter() {
		return
	}
	defer rw.exit()
	if rw.status == 0 {
		rw.begin(http.StatusOK)
	}
	rw.w.(http.Flusher).Flush()
}

func (rw *respWriter) hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !rw.enter() {
		return nil, nil, http.ErrHandlerTimeout
	}
	defer rw.exit()
	c, brw, err := rw.w.(http.Hijacker).Hijack()
	if err == nil && rw.status == 0 {
		// The connection is the handler's now: nothing the middleware
		// could write would reach the client, and the status it
		// answers with, if any, is not the policy's to read.
		rw.status = http.StatusSwitchingProtocols
	}
	return c, brw, err
}

func (rw *respWriter) readFrom(r io.Reader) (int64, error) {
	if !rw.enter() {
		return 0, http.ErrHandlerTimeout
	}
	defer rw.exit()
	if rw.status == 0 {
		rw.begin(http.StatusOK)
	}
	return rw.w.(io.ReaderFrom).ReadFrom(r)
}

// The variants, one per set of optional interfaces of the wrapped writer.
// Each holds only the pointer, so turning one into an http.ResponseWriter
// allocates nothing.
type (
	writerPlain struct{ *respWriter }
	writerF     struct{ *respWriter }
	writerH     struct{ *respWriter }
	writerR     struct{ *respWriter }
	writerFH    struct{ *respWriter }
	writerFR    struct{ *respWriter }
	writerHR    struct{ *respWriter }
	writerFHR   struct{ *respWriter }
)

func (w writerF) Flush()   { w.flush() }
func (w writerFH) Flush()  { w.flush() }
func (w writerFR) Flush()  { w.flush() }
func (w writerFHR) Flush() { w.flush() }

func (w writerH) Hijack() (net.Conn, *bufio.ReadWriter, error)   { return w.hijack() }
func (w writerFH) Hijack() (net.Conn, *bufio.ReadWriter, error)  { return w.hijack() }
func (w writerHR) Hijack() (net.Conn, *bufio.ReadWriter, error)  { return w.hijack() }
func (w writerFHR) Hijack() (net.Conn, *bufio.ReadWriter, error) { return w.hijack() }

func (w writerR) ReadFrom(r io.Reader) (int64, error)   { return w.readFrom(r) }
func (w writerFR) ReadFrom(r io.Reader) (int64, error)  { return w.readFrom(r) }
func (w writerHR) ReadFrom(r io.Reader) (int64, error)  { return w.readFrom(r) }
func (w writerFHR) ReadFrom(r io.Reader) (int64, error) { return w.readFrom(r) }

// view returns rw as the ResponseWriter the handler gets, with the
// optional interfaces of the writer it wraps.
func (rw *respWriter) view() http.ResponseWriter {
	_, f := rw.w.(http.Flusher)
	_, h := rw.w.(http.Hijacker)
	_, r := rw.w.(io.ReaderFrom)
	switch {
	case f && h && r:
		return writerFHR{rw}
	case f && h:
		return writerFH{rw}
	case f && r:
		return writerFR{rw}
	case h && r:
		return writerHR{rw}
	case f:
		return writerF{rw}
	case h:
		return writerH{rw}
	case r:
		return writerR{rw}
	}
	return writerPlain{rw}
}
