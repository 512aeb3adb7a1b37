package bulwarkhttp

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"time"
)

// The handler writes through a writer over the request's serve: it
// records the status, so that the policy learns the handler's outcome, and
// shuts the handler out once ServeHTTP is over. It implements exactly the
// optional interfaces (http.Flusher, http.Hijacker, io.ReaderFrom) of the
// ResponseWriter it wraps, through the variants below, so that a handler
// asking for one gets the truth; Unwrap gives http.ResponseController the
// rest (deadlines, full duplex).
//
// A handler abandoned by a timeout (timeout.WithAbandon) goes on running
// after the policy returned, and net/http forbids touching a ResponseWriter
// once ServeHTTP has returned, or from two goroutines at once. So when
// ServeHTTP finds the handler still running, it marks it abandoned, from
// which moment the handler's writes fail with http.ErrHandlerTimeout, and
// waits for it to return before it answers: a write in progress ends
// before the middleware writes. The usual handler, which returns before
// the policy does, pays two atomic steps for it, and its writes an atomic
// load each, where a lock around every write would cost more on every
// request to answer an abandoned one sooner.

// The phases of the handler's run.
const (
	notStarted int32 = iota // the policy has not run it (a rejection)
	running
	returned
	abandoned         // ServeHTTP waits for it to return
	returnedAbandoned // it has, after ServeHTTP marked it abandoned
)

// enter reports whether the handler may write.
func (s *serve) enter() bool { return s.phase.Load() < abandoned }

// handlerReturned is called by serveFn when the handler has returned, or
// panicked.
func (s *serve) handlerReturned() {
	if !s.phase.CompareAndSwap(running, returned) {
		s.phase.Store(returnedAbandoned)
	}
}

// close waits for an abandoned handler to return, shutting out its writes
// meanwhile. The wait polls, a few milliseconds apart: it happens only
// for a handler abandoned by its policy, and a channel for it would make
// every request's state larger.
func (s *serve) close() {
	if s.phase.Load() != running || !s.phase.CompareAndSwap(running, abandoned) {
		return
	}
	for d := time.Millisecond; s.phase.Load() != returnedAbandoned; d = min(2*d, 50*time.Millisecond) {
		time.Sleep(d)
	}
}

// writer is the handler's ResponseWriter. It holds only the pointer, so
// that the variants, which embed it, become an http.ResponseWriter without
// allocating; the serve's context methods stay off it.
type writer struct{ s *serve }

// Header returns the wrapped writer's header map. An abandoned handler
// gets a map of its own, so that it cannot race with the middleware.
func (w writer) Header() http.Header {
	rw := w.s
	if !rw.enter() {
		return http.Header{}
	}
	return rw.w.Header()
}

// WriteHeader records the status, which the policy reads as the handler's
// outcome, and writes it. Informational statuses (1xx but 101) are not
// the final one and are passed on without being recorded.
func (w writer) WriteHeader(code int) {
	rw := w.s
	if !rw.enter() {
		return
	}
	if rw.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		rw.begin(code)
	}
	rw.w.WriteHeader(code)
}

// begin records the final status and adds the RateLimit headers the
// middleware was asked for, before the header goes out.
func (s *serve) begin(code int) {
	s.status = int32(code)
	if q := s.h.cfg.quota; q != nil {
		q.set(s.w.Header(), s)
	}
}

func (w writer) Write(p []byte) (int, error) {
	rw := w.s
	if !rw.enter() {
		return 0, http.ErrHandlerTimeout
	}
	if rw.status == 0 {
		rw.begin(http.StatusOK)
	}
	return rw.w.Write(p)
}

// WriteString is Write for a string, without the copy to a []byte that
// io.WriteString makes for a writer that lacks it; net/http's writers have
// it.
func (w writer) WriteString(str string) (int, error) {
	rw := w.s
	if !rw.enter() {
		return 0, http.ErrHandlerTimeout
	}
	if rw.status == 0 {
		rw.begin(http.StatusOK)
	}
	return io.WriteString(rw.w, str)
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w writer) Unwrap() http.ResponseWriter { return w.s.w }

func (rw *serve) flush() {
	if !rw.enter() {
		return
	}
	if rw.status == 0 {
		rw.begin(http.StatusOK)
	}
	rw.w.(http.Flusher).Flush()
}

func (rw *serve) hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !rw.enter() {
		return nil, nil, http.ErrHandlerTimeout
	}
	c, brw, err := rw.w.(http.Hijacker).Hijack()
	if err == nil && rw.status == 0 {
		// The connection is the handler's now: nothing the middleware
		// could write would reach the client, and the status it
		// answers with, if any, is not the policy's to read.
		rw.status = http.StatusSwitchingProtocols
	}
	return c, brw, err
}

func (rw *serve) readFrom(r io.Reader) (int64, error) {
	if !rw.enter() {
		return 0, http.ErrHandlerTimeout
	}
	if rw.status == 0 {
		rw.begin(http.StatusOK)
	}
	return rw.w.(io.ReaderFrom).ReadFrom(r)
}

// The variants, one per set of optional interfaces of the wrapped writer.
// Each holds only the pointer, so turning one into an http.ResponseWriter
// allocates nothing.
type (
	writerPlain struct{ writer }
	writerF     struct{ writer }
	writerH     struct{ writer }
	writerR     struct{ writer }
	writerFH    struct{ writer }
	writerFR    struct{ writer }
	writerHR    struct{ writer }
	writerFHR   struct{ writer }
)

func (w writerF) Flush()   { w.s.flush() }
func (w writerFH) Flush()  { w.s.flush() }
func (w writerFR) Flush()  { w.s.flush() }
func (w writerFHR) Flush() { w.s.flush() }

func (w writerH) Hijack() (net.Conn, *bufio.ReadWriter, error)   { return w.s.hijack() }
func (w writerFH) Hijack() (net.Conn, *bufio.ReadWriter, error)  { return w.s.hijack() }
func (w writerHR) Hijack() (net.Conn, *bufio.ReadWriter, error)  { return w.s.hijack() }
func (w writerFHR) Hijack() (net.Conn, *bufio.ReadWriter, error) { return w.s.hijack() }

func (w writerR) ReadFrom(r io.Reader) (int64, error)   { return w.s.readFrom(r) }
func (w writerFR) ReadFrom(r io.Reader) (int64, error)  { return w.s.readFrom(r) }
func (w writerHR) ReadFrom(r io.Reader) (int64, error)  { return w.s.readFrom(r) }
func (w writerFHR) ReadFrom(r io.Reader) (int64, error) { return w.s.readFrom(r) }

// view returns the ResponseWriter the handler gets, with the optional
// interfaces of the writer it wraps.
func (s *serve) view() http.ResponseWriter {
	_, f := s.w.(http.Flusher)
	_, h := s.w.(http.Hijacker)
	_, r := s.w.(io.ReaderFrom)
	rw := writer{s}
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
