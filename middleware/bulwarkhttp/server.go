package bulwarkhttp

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/ratelimit"
)

// Middleware returns middleware that serves each request through p: the
// handler runs inside the policy, which sees the response status the
// handler wrote as the call's outcome, and a request the policy refuses
// is answered without calling the handler. See the package documentation
// for the mapping of outcomes to responses. Middleware panics if p is nil,
// if an option does not apply to it, or if the returned function is given
// a nil handler.
func Middleware(p bulwark.Policy, opts ...Option) func(http.Handler) http.Handler {
	if isNil(p) {
		panic("bulwark/bulwarkhttp: Middleware: policy must not be nil")
	}
	cfg := newConfig(server, opts)
	if cfg.quota != nil && cfg.quota.keyed != nil && cfg.key == nil {
		panic("bulwark/bulwarkhttp: WithRateLimitHeaders: a keyed limiter needs WithKey, got none")
	}
	if cfg.failureStatus == nil {
		cfg.failureStatus = func(code int) bool { return code >= 500 }
	}
	if cfg.reject == nil {
		cfg.reject = writeRejection
	}
	return func(next http.Handler) http.Handler {
		if next == nil {
			panic("bulwark/bulwarkhttp: Middleware: handler must not be nil")
		}
		return &handler{next: next, p: p, cfg: &cfg}
	}
}

type handler struct {
	next http.Handler
	p    bulwark.Policy
	cfg  *config
}

// serve is one request's state, in one allocation of 64 bytes. It is also
// the context the policy runs under, so that the protected function, a
// plain function that allocates nothing, finds it, and so that
// KeyFromContext finds the key without a context.WithValue.
type serve struct {
	w      http.ResponseWriter
	r      *http.Request
	h      *handler
	key    string
	phase  atomic.Int32 // see writer
	status int32        // the final status written, 0 until then
	hasKey bool
	abort  bool // raise http.ErrAbortHandler again, see serveFn
}

// The context methods are the request's: the policies' contexts derive
// from it as they would from the request's own.

func (s *serve) Deadline() (time.Time, bool) { return s.r.Context().Deadline() }
func (s *serve) Done() <-chan struct{}       { return s.r.Context().Done() }
func (s *serve) Err() error                  { return s.r.Context().Err() }

type serveKey struct{}

func (s *serve) Value(key any) any {
	switch key.(type) {
	case serveKey:
		return s
	case keyKey:
		if s.hasKey {
			return &s.key
		}
	}
	return s.r.Context().Value(key)
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := &serve{w: w, r: r, h: h}
	if h.cfg.key != nil {
		s.key, s.hasKey = h.cfg.key(r), true
	}
	err := h.p.Execute(s, serveFn)
	s.close()
	if s.abort {
		panic(http.ErrAbortHandler)
	}
	if s.status == 0 {
		if err != nil {
			h.reject(w, s, err)
		} else if q := h.cfg.quota; q != nil {
			q.set(w.Header(), s) // net/http writes the 200 of a silent handler
		}
	}
}

// serveFn runs the handler under the policy's context and turns the
// status it wrote into the call's outcome.
func serveFn(ctx context.Context) error {
	s, ok := ctx.Value(serveKey{}).(*serve)
	if !ok {
		return errForeignContext
	}
	r := s.r
	if ctx != s || s.hasKey {
		// The handler sees the policy's context (a timeout's deadline)
		// and the key; when there is neither, it keeps its request
		// and the copy is saved.
		r = r.WithContext(ctx)
	}
	if !s.phase.CompareAndSwap(notStarted, running) {
		return errHandlerRan
	}
	gone, nilPanic := s.serveHandler(r)
	if nilPanic {
		// panic(nil) under GODEBUG=panicnil=1, which recover stopped
		// where it could not tell it from a runtime.Goexit (a Goexit
		// never gets here): raised again, through the policy.
		panic(nil)
	}
	if gone != nil {
		return gone
	}
	code := int(s.status)
	if code == 0 {
		// A handler that returns without a word once its context has
		// ended gave up: a timeout (or the client's leaving), which the
		// middleware answers, not a 200.
		return ctx.Err()
	}
	if s.h.cfg.failureStatus(code) {
		return serverStatusError(code)
	}
	return nil
}

// serveHandler runs the handler. A panic with a value goes on from the
// deferred function, so that a crash still shows where it was raised. The
// handler returned or it did not, which a flag tells: recover returns nil
// both during a runtime.Goexit, which goes on once the deferred function
// returns, and for panic(nil) under GODEBUG=panicnil=1, which it stops;
// serveHandler then returns, which it never does in a Goexit, and reports
// nilPanic. gone is the client's cancellation when the handler gave up
// on a client that has gone (http.ErrAbortHandler).
func (s *serve) serveHandler(r *http.Request) (gone error, nilPanic bool) {
	returned := false
	defer func() {
		s.handlerReturned()
		if returned {
			return
		}
		v := recover()
		if v == nil {
			nilPanic = true
			return
		}
		if v == http.ErrAbortHandler && s.Err() != nil {
			// The handler gave up on a client that has gone: the
			// caller's business, not a failure (the outcome table
			// in the bulwark package doc). The policy sees the
			// client's cancellation; ServeHTTP raises the panic
			// again once the policy has returned, so that net/http
			// aborts the response as the handler asked.
			s.abort = true
			gone = s.Err()
			return
		}
		panic(v) // unchanged, through the policy, which releases what it holds
	}()
	s.h.next.ServeHTTP(s.view(), r)
	returned = true
	return nil, false
}

// errHandlerRan refuses a second run of the handler. A handler writes its
// response to the client as it goes, so it answers a request once: an
// attempt a policy makes beside it (a hedge) or after it (a retry after
// an abandoning timeout) never reaches it, and is a local rejection, no
// outcome of the handler.
var errHandlerRan error = handlerRan{}

type handlerRan struct{}

func (handlerRan) Error() string {
	return "bulwark/bulwarkhttp: the handler answers a request once: a second attempt is refused"
}
func (handlerRan) Is(t error) bool { return t == bulwark.ErrRejected }

// errForeignContext is returned when a policy runs the protected function
// under a context that does not derive from the one it was given: the
// request cannot be found from it.
var errForeignContext = errors.New("bulwark/bulwarkhttp: the policy ran the call under a context that does not derive from the one it was given")

// reject answers a request that the policy ended before the handler wrote
// anything.
func (h *handler) reject(w http.ResponseWriter, s *serve, err error) {
	status := h.rejectionStatus(err)
	hdr := w.Header()
	if d, ok := bulwark.RetryAfter(err); ok {
		hdr.Set("Retry-After", retryAfterSeconds(d))
	}
	if q := h.cfg.quota; q != nil {
		q.set(hdr, s)
	}
	h.cfg.reject(w, s.r, status, err)
}

// rejectionStatus maps the error that ended a request before anything was
// written to the status of the answer.
func (h *handler) rejectionStatus(err error) int {
	switch {
	case errors.Is(err, ratelimit.ErrLimited):
		return http.StatusTooManyRequests
	case errors.Is(err, bulwark.ErrRejected):
		return http.StatusServiceUnavailable
	case errors.Is(err, context.DeadlineExceeded):
		return h.cfg.timeoutStatus
	case errors.Is(err, context.Canceled):
		// The client has gone; nobody reads this, but the access log
		// should not say 200.
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// writeRejection is the default rejection writer: the status and its text,
// as http.Error writes them. The error's text stays on the server.
func writeRejection(w http.ResponseWriter, _ *http.Request, status int, _ error) {
	http.Error(w, http.StatusText(status), status)
}
