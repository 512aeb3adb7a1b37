package bulwarkhttp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"reflect"
	"sync"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/outcome"
	"github.com/bulwark-go/bulwark/timeout"
)

// Transport returns an http.RoundTripper that sends each request through
// p, one attempt each time p runs its function, with base (a nil base
// means http.DefaultTransport, read at each request as http.Client reads
// it). See the package documentation for what the policies see and what
// the caller gets. Transport panics if p is nil or if an option does not
// apply to it.
func Transport(base http.RoundTripper, p bulwark.Policy, opts ...Option) http.RoundTripper {
	if isNil(p) {
		panic("bulwark/bulwarkhttp: Transport: policy must not be nil")
	}
	if isNil(base) {
		base = nil
	}
	cfg := newConfig(client, opts)
	if cfg.classify == nil {
		cfg.classify = DefaultClassifier
	}
	if cfg.idempotent == nil {
		cfg.idempotent = idempotent
	}
	t := &transport{base: base, p: p, cfg: cfg}
	if cfg.hostPolicy != nil {
		t.hosts = NewPerKey(cfg.hostMax, cfg.hostPolicy)
	}
	return t
}

type transport struct {
	base  http.RoundTripper
	p     bulwark.Policy
	cfg   config
	hosts *PerKey // nil without WithHostPolicy
}

// idempotent is the default of WithIdempotent.
func idempotent(r *http.Request) bool {
	switch r.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	_, key := r.Header["Idempotency-Key"]
	_, xkey := r.Header["X-Idempotency-Key"]
	return key || xkey
}

// drainLimit bounds what is read from a discarded response so that its
// connection goes back to the pool; a longer body is closed unread.
const drainLimit = 64 << 10

// call is one RoundTrip's state, in one allocation. It is also the root
// of the contexts the policies run under (its embedded context, a child of
// the request's, cancelled when RoundTrip ends), so that the
// protected function, a plain function that allocates nothing, finds it.
type call struct {
	context.Context // the policies' root: cancelled at the end
	gate            context.CancelFunc
	t               *transport
	req             *http.Request
	deadline        time.Time // WithTotalTimeout's, if earlier than the caller's
	timer           *time.Timer

	mu       sync.Mutex
	inFlight int32 // attempts sending now
	done     bool  // RoundTrip has collected the outcome: late responses are discarded
	sent     bool  // the request has gone to base at least once
	bodyUsed bool  // req.Body itself has been handed to base
	xInUse   bool  // sharedX belongs to an attempt or to a response kept
	sharedX  context.Context
	cancelX  context.CancelFunc
	privates *[]context.CancelFunc // the other request contexts made, for expire
	resp     held                  // the success to return
	last     held                  // the latest failure response, returned if the policies end on it

	mayRepeat bool // the request may be sent more than once
}

// caller returns the request's context, the caller's.
func (c *call) caller() context.Context { return c.req.Context() }

// held is a response kept with the context its body lives on.
type held struct {
	resp   *http.Response
	cancel context.CancelFunc // cancels the body's own context; nil for the caller's
	shared bool               // the body lives on sharedX
}

type callKey struct{}

// Deadline reports WithTotalTimeout's deadline, so that the policies (a
// retry judging whether a wait fits) see it.
func (c *call) Deadline() (time.Time, bool) {
	if !c.deadline.IsZero() {
		return c.deadline, true
	}
	return c.Context.Deadline()
}

func (c *call) Value(key any) any {
	switch key.(type) {
	case callKey:
		return c
	case keyKey:
		return &c.req.URL.Host // read only, as the request is during RoundTrip
	}
	return c.Context.Value(key)
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req == nil {
		return nil, errors.New("bulwark/bulwarkhttp: RoundTrip: request is nil")
	}
	if req.URL == nil {
		closeBody(req)
		return nil, errors.New("bulwark/bulwarkhttp: RoundTrip: request has no URL")
	}
	caller := req.Context()
	c := &call{t: t, req: req}
	c.Context, c.gate = context.WithCancel(caller)
	c.mayRepeat = t.cfg.idempotent(req) &&
		(req.Body == nil || req.Body == http.NoBody || req.GetBody != nil)
	if d := t.cfg.totalTimeout; d > 0 {
		c.deadline = time.Now().Add(d)
		if cd, ok := caller.Deadline(); ok && cd.Before(c.deadline) {
			c.deadline = time.Time{} // the caller's comes first
		} else {
			c.timer = time.AfterFunc(d, c.expire)
		}
	}
	returned := false
	defer func() {
		if !returned {
			// A panic (or runtime.Goexit) is on its way up: give back
			// what the attempts left, then let it go.
			if c.timer != nil {
				c.timer.Stop()
			}
			c.gate()
			c.finish(errPanicked) //nolint:errcheck // nothing is returned
		}
	}()
	err := t.p.Execute(c, attemptFn)
	returned = true
	expired := c.timer != nil && !c.timer.Stop()
	c.gate()
	if expired {
		c.finish(errPanicked) // discards what the attempts left
		return nil, &totalTimeoutError{err: err}
	}
	return c.finish(err)
}

// expire ends the call at WithTotalTimeout: the policies see their context
// done, as if the caller had gone (no failure of the dependency), and the
// requests in flight are cancelled.
func (c *call) expire() {
	c.gate()
	c.mu.Lock()
	cancels := []context.CancelFunc{c.cancelX}
	if c.privates != nil {
		cancels = append(cancels, *c.privates...)
	}
	c.mu.Unlock()
	for _, cancel := range cancels {
		if cancel != nil {
			cancel()
		}
	}
}

// attemptFn is the function the policy protects: one attempt.
func attemptFn(ctx context.Context) error {
	c, ok := ctx.Value(callKey{}).(*call)
	if !ok {
		return errForeignContext
	}
	if c.t.hosts == nil {
		return c.send(ctx)
	}
	p, err := c.t.hosts.policy(c.req.URL.Host)
	if err != nil {
		return err
	}
	return p.Execute(ctx, sendFn)
}

func sendFn(ctx context.Context) error {
	c, ok := ctx.Value(callKey{}).(*call)
	if !ok {
		return errForeignContext
	}
	return c.send(ctx)
}

// send makes one attempt under the policies' context ctx.
func (c *call) send(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	switch c.startAttempt() {
	case again:
	case beside:
		// The request may not go out again: an extra attempt run beside
		// the first (a hedge) waits to be cancelled, which happens when
		// the first ends, and is no outcome at all.
		<-ctx.Done()
		return ctx.Err()
	default:
		return bulwark.Permanent(errSentOnce)
	}
	defer c.endAttempt()

	r := c.req
	var body io.ReadCloser
	if c.req.Body != nil && c.req.Body != http.NoBody {
		var err error
		if body, err = c.body(); err != nil {
			return bulwark.Permanent(err)
		}
	}

	// The request runs under a context of its own, a child of the
	// caller's, never under the policies' contexts: those end when the
	// policies return (a timeout's cancel), and the body of the response
	// must stay readable until the caller closes it. The attempt's own
	// ends are brought onto it: the policies' context being done while
	// the attempt runs (a timeout, a hedge's loser), and the attempt
	// timeout. With neither, the caller's context does.
	// ctx is c itself when no policy made a context of its own; asking
	// c for Done then would make its channel for nothing.
	inner := ctx != context.Context(c) && ctx.Done() != nil && ctx.Done() != c.Done()
	x, h := c.caller(), held{}
	if inner || c.t.cfg.attemptTimeout > 0 || c.timer != nil {
		x, h.cancel, h.shared = c.requestContext()
	}
	var (
		stopBridge func() bool
		timer      *time.Timer
		resp       *http.Response
		settled    bool
	)
	defer func() {
		if !settled {
			// A panic (in the base RoundTripper, the classifier) is on
			// its way up: leave nothing armed or open behind it.
			if timer != nil {
				timer.Stop()
			}
			if stopBridge != nil {
				stopBridge()
			}
			if resp != nil {
				resp.Body.Close()
			}
			c.release(h, true)
		}
	}()
	if inner {
		stopBridge = context.AfterFunc(ctx, h.cancel)
	}
	if d := c.t.cfg.attemptTimeout; d > 0 {
		timer = time.AfterFunc(d, h.cancel)
	}
	if x != c.caller() || body != nil {
		r = r.WithContext(x)
		if body != nil {
			r.Body = body
		}
	}

	resp, err := c.base().RoundTrip(r)
	if resp != nil && resp.Body == nil {
		resp.Body = http.NoBody // a RoundTripper that breaks its contract
	}

	timedOut := timer != nil && !timer.Stop()
	bridged := stopBridge != nil && !stopBridge()
	if err != nil || timedOut || bridged {
		if resp != nil {
			// The request's context is cancelled, or about to be: the
			// body would die in the caller's hands.
			resp.Body.Close()
			resp = nil
		}
		var class Class
		switch {
		case c.caller().Err() != nil:
			err = withCause(c.caller().Err(), err) // the caller's business
		case timedOut:
			err = &attemptTimeoutError{err: err}
		case ctx.Err() != nil:
			// The policies' context ended (their timeout, a hedge's
			// loser, WithTotalTimeout): say so in their terms.
			err = withCause(ctx.Err(), err)
		default:
			class = c.t.cfg.classify(nil, err)
		}
		settled = true
		c.release(h, timedOut || bridged)
		if class == ClassSuccess {
			return err // a context's end, as it is
		}
		return c.failed(class, err)
	}
	if resp.Request == r && r != c.req {
		resp.Request = c.req
	}
	class := c.t.cfg.classify(resp, nil)
	settled = true
	h.resp = resp
	if class == ClassSuccess {
		c.keep(&c.resp, h)
		return nil
	}
	se := &StatusError{Code: resp.StatusCode, resp: resp}
	c.keep(&c.last, h)
	var serr error = se
	if class == ClassRetry && (se.Code == http.StatusTooManyRequests || se.Code == http.StatusServiceUnavailable) {
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			serr = bulwark.WithRetryAfter(se, min(d, c.t.cfg.maxRetryAfter))
		}
	}
	return c.failed(class, serr)
}

// failed returns the error the policies see for an attempt of class.
func (c *call) failed(class Class, err error) error {
	switch class {
	case ClassSuccess, ClassPermanent:
		return bulwark.Permanent(err)
	case ClassFailure:
		// A failure no retry repeats, which a breaker still counts.
		return outcome.NoRetry(err)
	default:
		if !c.mayRepeat {
			return outcome.NoRetry(err)
		}
	}
	return err
}

// What startAttempt allows.
const (
	again  = iota // send the request
	beside        // wait: the request may not go out again, and an attempt is in flight
	never         // fail: the request may not go out again
)

// errSentOnce is the error of an attempt that a policy made after the one
// a request that may not be repeated was sent in.
var errSentOnce = errors.New("bulwark/bulwarkhttp: the request was sent once and may not be sent again (not idempotent, or its body cannot be replayed)")

// startAttempt discards the failure response of the previous attempt and
// says whether this one may send the request.
func (c *call) startAttempt() int {
	c.mu.Lock()
	switch {
	case !c.sent || c.mayRepeat:
		c.sent = true
		c.inFlight++
	case c.inFlight > 0:
		c.mu.Unlock()
		return beside
	default:
		c.mu.Unlock()
		return never // and the response kept stays the answer
	}
	last := c.last
	c.last = held{}
	c.mu.Unlock()
	c.discard(last)
	return again
}

func (c *call) endAttempt() {
	c.mu.Lock()
	c.inFlight--
	c.mu.Unlock()
}

// body returns the request body for this attempt: the request's own the
// first time, a new one from GetBody after that.
func (c *call) body() (io.ReadCloser, error) {
	c.mu.Lock()
	used := c.bodyUsed
	c.bodyUsed = true
	c.mu.Unlock()
	if !used {
		return nil, nil
	}
	if c.req.GetBody == nil {
		return nil, errors.New("bulwark/bulwarkhttp: the request body cannot be sent again (no GetBody)")
	}
	b, err := c.req.GetBody()
	if err != nil {
		return nil, err
	}
	return b, nil
}

// requestContext returns the context an attempt's request runs under: the
// shared one when no other attempt or kept response holds it, else one of
// its own.
func (c *call) requestContext() (context.Context, context.CancelFunc, bool) {
	c.mu.Lock()
	if !c.xInUse {
		if c.sharedX == nil {
			c.sharedX, c.cancelX = context.WithCancel(c.caller())
		}
		c.xInUse = true
		x, cancel := c.sharedX, c.cancelX
		c.mu.Unlock()
		return x, cancel, true
	}
	x, cancel := context.WithCancel(c.caller())
	if c.privates == nil {
		c.privates = new([]context.CancelFunc)
	}
	*c.privates = append(*c.privates, cancel)
	c.mu.Unlock()
	return x, cancel, false
}

// release gives back the request context of h, which holds no response
// any more; dead says it was cancelled.
func (c *call) release(h held, dead bool) {
	if h.cancel == nil {
		return
	}
	if !h.shared {
		h.cancel()
		return
	}
	c.mu.Lock()
	if dead {
		c.sharedX, c.cancelX = nil, nil
	}
	c.xInUse = false
	c.mu.Unlock()
}

// keep stores h in *slot, discarding what it held; after RoundTrip has
// collected the outcome, h itself is discarded.
func (c *call) keep(slot *held, h held) {
	c.mu.Lock()
	if c.done || (slot == &c.resp && c.resp.resp != nil) {
		// Too late, or another attempt (a hedge) won first.
		c.mu.Unlock()
		c.discard(h)
		return
	}
	old := *slot
	*slot = h
	c.mu.Unlock()
	c.discard(old)
}

// discard drains (up to drainLimit) and closes a response that will not be
// returned, so that its connection can be used again.
func (c *call) discard(h held) {
	if h.resp == nil {
		return
	}
	drainClose(h.resp)
	c.release(h, false)
}

func drainClose(resp *http.Response) {
	if resp.ContentLength <= drainLimit {
		io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit)) //nolint:errcheck // best effort
	}
	resp.Body.Close()
}

// finish returns what RoundTrip returns once the policy has returned err.
func (c *call) finish(err error) (*http.Response, error) {
	c.mu.Lock()
	c.done = true
	resp, last, bodyUsed := c.resp, c.last, c.bodyUsed
	c.resp, c.last = held{}, held{}
	c.mu.Unlock()
	if !bodyUsed {
		closeBody(c.req) // the request never went out: RoundTrip closes its body all the same
	}
	if err == nil {
		c.discard(last)
		if resp.resp == nil {
			return nil, errNoResponse
		}
		return c.deliver(resp), nil
	}
	var se *StatusError
	if last.resp != nil && errors.As(err, &se) && se.resp == last.resp {
		// The policies ended on a status (retries exhausted, a 500 not
		// retried): the caller gets that response, body and all.
		c.discard(resp)
		return c.deliver(last), nil
	}
	c.discard(resp)
	c.discard(last)
	return nil, err
}

// errPanicked stands for the outcome of a call that panicked or expired,
// to discard what it left.
var errPanicked = errors.New("bulwark/bulwarkhttp: panicked")

// errNoResponse is returned when the policy succeeded without any attempt
// succeeding: a fallback that returned nil.
var errNoResponse = errors.New("bulwark/bulwarkhttp: the policy succeeded without a response (a fallback cannot supply one)")

// deliver returns h's response, its body wrapped to release its context
// on Close when that context has a parent to be released from.
func (c *call) deliver(h held) *http.Response {
	if h.cancel == nil || c.caller().Done() == nil {
		return h.resp
	}
	resp := h.resp
	if rwc, ok := resp.Body.(io.ReadWriteCloser); ok {
		resp.Body = &duplexBody{rwc, h.cancel} // 101 Switching Protocols
	} else {
		resp.Body = &body{resp.Body, h.cancel}
	}
	return resp
}

// body releases the context a response's body lives on when it is closed.
type body struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *body) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

type duplexBody struct {
	io.ReadWriteCloser
	cancel context.CancelFunc
}

func (b *duplexBody) Close() error {
	err := b.ReadWriteCloser.Close()
	b.cancel()
	return err
}

func (c *call) base() http.RoundTripper {
	if c.t.base != nil {
		return c.t.base
	}
	return http.DefaultTransport
}

func closeBody(r *http.Request) {
	if r.Body != nil {
		r.Body.Close()
	}
}

// attemptTimeoutError is the error of an attempt that WithAttemptTimeout
// ended: a timeout, so a failure for a breaker and retried by retry.
type attemptTimeoutError struct{ err error }

func (e *attemptTimeoutError) Error() string {
	if e.err == nil {
		return "bulwark/bulwarkhttp: attempt timed out"
	}
	return "bulwark/bulwarkhttp: attempt timed out: " + e.err.Error()
}
func (e *attemptTimeoutError) Timeout() bool { return true }
func (e *attemptTimeoutError) Unwrap() error { return e.err }
func (e *attemptTimeoutError) Is(t error) bool {
	return t == timeout.ErrTimeout || t == context.DeadlineExceeded
}

// totalTimeoutError is what RoundTrip returns when WithTotalTimeout ended
// the call; it wraps what the policy returned.
type totalTimeoutError struct{ err error }

func (e *totalTimeoutError) Error() string {
	if e.err == nil {
		return "bulwark/bulwarkhttp: request timed out"
	}
	return "bulwark/bulwarkhttp: request timed out: " + e.err.Error()
}
func (e *totalTimeoutError) Timeout() bool { return true }
func (e *totalTimeoutError) Unwrap() error { return e.err }
func (e *totalTimeoutError) Is(t error) bool {
	return t == timeout.ErrTimeout || t == context.DeadlineExceeded
}

// withCause returns err, which the transport returned because cause ended
// the request's context, as an error that matches cause too, so that the
// policies read it as their own context's end.
func withCause(cause, err error) error {
	if err == nil || errors.Is(err, cause) {
		if err == nil {
			return cause
		}
		return err
	}
	return &causedError{cause: cause, err: err}
}

type causedError struct{ cause, err error }

func (e *causedError) Error() string   { return e.err.Error() }
func (e *causedError) Unwrap() []error { return []error{e.err, e.cause} }

func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface:
		return rv.IsNil()
	}
	return false
}
