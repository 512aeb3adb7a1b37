package bulwarkgrpc

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// StreamClientInterceptor returns an interceptor that runs every client
// stream through p (or the policy picked for its method) for the whole of
// its life: a bulkhead permit or a breaker's probe is held from the stream's
// opening to its end, and the policy learns the stream's final status.
// The end is when RecvMsg returns io.EOF or an error, SendMsg returns an
// error other than io.EOF, the caller's context is done, or the ClientConn
// is closed (grpc's own rules for when a stream's resources go).
//
// A stream is retried, by a retry in p, only while the caller has received
// no message (nor its header) and has sent at most WithMaxReplay messages,
// which the new attempt sends again; then the caller's calls go on with the
// new attempt as if nothing had happened.
//
// p is held open across calls by one goroutine per stream, which runs
// p.Execute, watches the stream's context and ends with the stream; when p
// is a *breaker.Breaker, its two-step Acquire/Done is used instead, and
// no goroutine runs unless the caller's context is cancelled (see the
// package documentation). It panics if p is nil or an option does not apply.
func StreamClientInterceptor(p bulwark.Policy, opts ...Option) grpc.StreamClientInterceptor {
	c := newConfig(streamClient, p, opts)
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		p := c.policyFor(method)
		if b, ok := p.(acquirer); ok {
			return c.permitStream(ctx, b, desc, cc, method, streamer, opts)
		}
		return c.hostedStream(ctx, p, desc, cc, method, streamer, opts)
	}
}

// acquirer is a policy with a two-step admission: *breaker.Breaker.
type acquirer interface {
	Acquire(ctx context.Context) (*breaker.Permit, error)
}

// errPanicked is the outcome of a stream whose caller panicked in one of
// its calls: a failure, as a panic is for a breaker.
var errPanicked = errors.New("bulwark/bulwarkgrpc: panic in a stream call")

// errConnClosing is what grpc says of a stream cut by ClientConn.Close.
var errConnClosing = status.Error(codes.Canceled, "grpc: the client connection is closing")

// errHedgedStream refuses a second attempt of a stream while one runs.
var errHedgedStream = status.Error(codes.FailedPrecondition, "bulwark/bulwarkgrpc: a stream has one attempt at a time: it cannot be hedged")

// errNoStream is what the caller gets when p returned without an error
// and without opening the stream (a fallback that handled a failure):
// a stream cannot be made up.
var errNoStream = status.Error(codes.Internal, "bulwark/bulwarkgrpc: the policy returned without opening the stream")

// ---- two-step: a breaker alone ----

func (c *config) permitStream(ctx context.Context, b acquirer, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts []grpc.CallOption) (grpc.ClientStream, error) {
	permit, err := b.Acquire(ctx)
	if err != nil {
		return nil, clientError(err)
	}
	normal := false
	defer func() {
		if !normal {
			permit.Done(ctx, errPanicked)
		}
	}()
	cs, err := streamer(ctx, desc, cc, method, opts...)
	normal = true
	if err != nil {
		permit.Done(ctx, c.outcome(ctx, method, err, nil, false))
		return nil, err
	}
	s := &permitStream{ClientStream: cs, c: c, ctx: ctx, method: method, permit: permit}
	// Only a cancellation needs watching: every other end of the stream
	// reaches the caller through RecvMsg or SendMsg. AfterFunc starts no
	// goroutine until ctx is done.
	s.stop = context.AfterFunc(ctx, func() { s.end(ctx.Err()) })
	return s, nil
}

// permitStream reports the end of a stream to its breaker permit.
type permitStream struct {
	grpc.ClientStream
	c      *config
	ctx    context.Context
	method string
	permit *breaker.Permit
	stop   func() bool
	once   sync.Once // a RecvMsg racing the cancellation returns once Done did
}

func (s *permitStream) end(outcome error) {
	s.once.Do(func() {
		s.stop()
		s.permit.Done(s.ctx, outcome)
	})
}

func (s *permitStream) RecvMsg(m any) error {
	normal := false
	defer s.guard(&normal)
	err := s.ClientStream.RecvMsg(m)
	normal = true
	switch {
	case err == io.EOF:
		s.end(nil)
	case err != nil:
		s.end(s.c.outcome(s.ctx, s.method, err, nil, false))
	}
	return err
}

func (s *permitStream) CloseSend() error {
	normal := false
	defer s.guard(&normal)
	err := s.ClientStream.CloseSend()
	normal = true
	return err
}

func (s *permitStream) Header() (metadata.MD, error) {
	normal := false
	defer s.guard(&normal)
	md, err := s.ClientStream.Header()
	normal = true
	return md, err
}

// guard reports a panic (or runtime.Goexit) in a call of the stream.
func (s *permitStream) guard(normal *bool) {
	if !*normal {
		s.end(errPanicked)
	}
}

func (s *permitStream) SendMsg(m any) error {
	normal := false
	defer s.guard(&normal)
	err := s.ClientStream.SendMsg(m)
	normal = true
	if err != nil && err != io.EOF {
		s.end(s.c.outcome(s.ctx, s.method, err, nil, false))
	}
	return err
}

// ---- hosted: any policy ----

// hosted is a client stream whose policy's Execute runs, for the stream's
// whole life, on a goroutine of its own (run). Each call of the policy's
// function is an attempt: it opens a grpc stream, sends again what the
// caller sent so far, hands the stream to the caller's calls and waits for
// its end, which the caller's calls report. It does not embed
// grpc.ClientStream as the breaker's permitStream does: the stream under
// it changes with each attempt, so every method is its own.
type hosted struct {
	c        *config
	desc     *grpc.StreamDesc
	cc       *grpc.ClientConn
	method   string
	streamer grpc.Streamer
	opts     []grpc.CallOption
	ctx      context.Context // the caller's, cancelled when the stream ends
	cancel   context.CancelFunc

	committedFast atomic.Bool // committed, read without the lock

	mu        sync.Mutex
	cond      sync.Cond
	cur       *attempt // the attempt the caller's calls go to; nil between attempts
	last      *attempt // the latest attempt, for Trailer and Context
	attempts  int
	running   bool  // the policy's function runs: from its call (the streamer not yet called) to its return
	committed bool  // no more attempts: a message was received, or what was sent cannot be sent again
	sent      []any // what the caller sent, for the next attempt
	closeSent bool
	done      bool  // Execute returned
	final     error // what the caller gets once done; nil: the stream ended well
	panicked  bool  // the policy's goroutine panicked with panicVal, to be raised on the caller's
	panicVal  any
}

type attempt struct {
	cs        grpc.ClientStream
	ctx       context.Context // the policy's, for this attempt
	end       chan error      // the attempt's outcome, for the policy's goroutine; buffered
	open      bool            // the policy's goroutine waits on end
	replaying bool            // being sent what the caller sent: not the caller's yet
}

// errAborted reports an attempt whose caller panicked in a call.
var errAborted = errors.New("bulwark/bulwarkgrpc: aborted")

// abortPanic is raised through the policy when the caller panicked, so that
// the policies see a panic; run swallows it, the caller's panic goes on.
type abortPanic struct{}

func (c *config) hostedStream(ctx context.Context, p bulwark.Policy, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts []grpc.CallOption) (grpc.ClientStream, error) {
	h := &hosted{c: c, desc: desc, cc: cc, method: method, streamer: streamer, opts: opts}
	h.cond.L = &h.mu
	h.ctx, h.cancel = context.WithCancel(ctx)
	go h.run(p)
	h.mu.Lock()
	defer h.mu.Unlock()
	for !h.done && (h.cur == nil || h.cur.replaying) {
		h.cond.Wait()
	}
	h.raise()
	if h.cur == nil || h.cur.replaying {
		if h.final == nil {
			return nil, errNoStream
		}
		return nil, h.final
	}
	return h, nil
}

// How the policy's goroutine ended.
const (
	execReturned = iota
	execPanicked
	execExited // runtime.Goexit (in the streamer, in a replayed SendMsg, in the policy)
)

// run is the policy's goroutine. Execute returned or it did not, which a
// flag tells: recover returns nil both during a runtime.Goexit, which goes
// on once the deferred function returns, and for panic(nil) under
// GODEBUG=panicnil=1, which it stops. The inner function then returns,
// which it never does in a Goexit: a nil value that gets there is a panic,
// raised again on the caller's goroutine as any other.
func (h *hosted) run(p bulwark.Policy) {
	defer h.cancel()
	exited := true
	defer func() {
		if exited {
			h.finish(nil, nil, execExited)
		}
	}()
	var err error
	var r any
	end := execReturned
	func() {
		returned := false
		defer func() {
			if !returned {
				r, end = recover(), execPanicked
			}
		}()
		err = p.Execute(h.ctx, h.attempt)
		returned = true
	}()
	exited = false
	h.finish(err, r, end)
}

func (h *hosted) finish(err error, r any, end int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.done = true
	switch {
	case end == execReturned:
		h.final = clientError(err)
	case end == execExited:
		h.final = status.Error(codes.Internal, "bulwark/bulwarkgrpc: the stream's goroutine exited")
	case r == (abortPanic{}):
		h.final = status.Error(codes.Canceled, "bulwark/bulwarkgrpc: the caller panicked in a stream call")
	default:
		h.final = status.Error(codes.Internal, "bulwark/bulwarkgrpc: the stream panicked")
		h.panicked, h.panicVal = true, r
	}
	h.cond.Broadcast()
}

// raise re-raises, on the caller's goroutine, a panic of the policy's
// goroutine (in the streamer, in a replayed SendMsg, in the policy).
// Requires mu held.
func (h *hosted) raise() {
	if h.panicked {
		h.panicked = false
		panic(h.panicVal)
	}
}

// attempt is the policy's function: one attempt of the stream.
//
// An attempt is under way from the moment the policy calls the function,
// not from the moment its stream is open: h.cur is set only once the
// streamer has returned, so a second attempt that came while the first
// was still opening (a hedge that fires while the connection is being
// made) would find no current attempt, open a second stream and take the
// caller's calls from the first, which nobody would end.
func (h *hosted) attempt(ctx context.Context) error {
	h.mu.Lock()
	if h.running || (h.committed && h.attempts > 0) {
		h.mu.Unlock()
		return bulwark.Permanent(errHedgedStream)
	}
	h.attempts++
	h.running = true
	h.mu.Unlock()
	defer h.attemptOver()

	cs, err := h.streamer(ctx, h.desc, h.cc, h.method, h.opts...)
	if err != nil {
		return h.c.outcome(ctx, h.method, err, nil, !h.isCommitted())
	}
	a := &attempt{cs: cs, ctx: ctx, end: make(chan error, 1), open: true, replaying: true}
	h.mu.Lock()
	h.cur, h.last = a, a
	sent, closeSent := h.sent, h.closeSent
	h.mu.Unlock()
	for _, m := range sent {
		if err := cs.SendMsg(m); err != nil {
			if err != io.EOF { // the client could not send it: grpc ended the stream
				h.mu.Lock()
				h.cur, a.open, h.committed = nil, false, true
				h.committedFast.Store(true)
				h.cond.Broadcast()
				h.mu.Unlock()
				return h.c.outcome(ctx, h.method, err, nil, false)
			}
			break // the attempt is over; RecvMsg will say how
		}
	}
	if closeSent {
		_ = cs.CloseSend()
	}
	h.mu.Lock()
	a.replaying = false
	h.cond.Broadcast()
	h.mu.Unlock()
	return h.wait(ctx, a)
}

// attemptOver lets the policy start the next attempt: it runs when the
// function returns, or a panic leaves it.
func (h *hosted) attemptOver() {
	h.mu.Lock()
	h.running = false
	h.mu.Unlock()
}

// wait waits for the end of attempt a: the caller's report, the end of the
// policy's context (the caller's cancellation, a timeout in the policy), or
// the ClientConn's closing, which the caller may never learn of.
func (h *hosted) wait(ctx context.Context, a *attempt) error {
	streamDone := a.cs.Context().Done()
	for {
		select {
		case out := <-a.end:
			return h.reported(out)
		case <-ctx.Done():
			h.mu.Lock()
			if !a.open {
				h.mu.Unlock()
				return h.reported(<-a.end)
			}
			// The caller's calls still reach this attempt and get grpc's
			// own word on its end.
			a.open = false
			replayable := !h.committed
			h.mu.Unlock()
			return h.c.outcome(ctx, h.method, status.FromContextError(ctx.Err()).Err(), nil, replayable)
		case <-streamDone:
			streamDone = nil
			if h.cc.GetState() != connectivity.Shutdown {
				continue // the stream ended: the caller is about to report how
			}
			h.mu.Lock()
			if !a.open {
				h.mu.Unlock()
				return h.reported(<-a.end)
			}
			a.open = false
			h.committed = true
			h.committedFast.Store(true)
			h.mu.Unlock()
			return bulwark.Permanent(&callError{err: errConnClosing})
		}
	}
}

func (h *hosted) reported(out error) error {
	if out == errAborted {
		panic(abortPanic{})
	}
	return out
}

func (h *hosted) isCommitted() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.committed
}

// current returns the attempt the caller's calls go to, waiting while
// there is none and the stream is not over; when it is over, it returns
// nil and the error the caller gets (nil: the stream ended well). before,
// if not nil, runs with the attempt chosen, under the lock.
func (h *hosted) current(before func()) (*attempt, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for !h.done && (h.cur == nil || h.cur.replaying) {
		h.cond.Wait()
	}
	h.raise()
	if h.cur == nil || h.cur.replaying {
		return nil, h.final
	}
	if before != nil {
		before()
	}
	return h.cur, nil
}

// ended reports the end of attempt a, as the caller saw it: rerr is
// io.EOF for a stream that ended well.
func (h *hosted) ended(a *attempt, rerr error, pushbackVals []string, replayable bool) {
	var out error
	if rerr != io.EOF {
		out = h.c.outcome(a.ctx, h.method, rerr, pushbackVals, replayable)
	}
	h.mu.Lock()
	if h.cur == a {
		h.cur = nil
	}
	if a.open {
		a.open = false
		a.end <- out
	}
	h.cond.Broadcast()
	h.mu.Unlock()
}

// commit marks the stream as delivered to the caller, for good: it reports
// false if the message came from an attempt already replaced, which the
// caller must not see.
func (h *hosted) commit(a *attempt) bool {
	if h.committedFast.Load() {
		return true
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cur != a {
		return false
	}
	h.committed, h.sent = true, nil
	h.committedFast.Store(true)
	return true
}

// guard reports an attempt whose caller panicked (or called
// runtime.Goexit) in one of its calls: the policies see a panic, and
// every permit is back before the caller's panic goes on.
func (h *hosted) guard(a *attempt, normal *bool) {
	if *normal {
		return
	}
	h.mu.Lock()
	h.committed, h.sent = true, nil
	h.committedFast.Store(true)
	if h.cur == a {
		h.cur = nil
	}
	if a.open {
		a.open = false
		a.end <- errAborted
	}
	h.cond.Broadcast()
	h.mu.Unlock()
	h.cancel()
	h.mu.Lock()
	for !h.done {
		h.cond.Wait()
	}
	h.panicked = false // the caller's own panic is the one that goes on
	h.mu.Unlock()
}

func (h *hosted) RecvMsg(m any) error {
	for {
		a, final := h.current(nil)
		if a == nil {
			if final == nil {
				return io.EOF
			}
			return final
		}
		err := h.recv(a, m)
		if err == nil {
			if h.commit(a) {
				return nil
			}
			continue // a message of an attempt given up: the next one starts over
		}
		var pb []string
		if err != io.EOF {
			pb = a.cs.Trailer()[PushbackKey]
		}
		h.ended(a, err, pb, !h.isCommitted())
	}
}

func (h *hosted) recv(a *attempt, m any) error {
	normal := false
	defer h.guard(a, &normal)
	err := a.cs.RecvMsg(m)
	normal = true
	return err
}

func (h *hosted) SendMsg(m any) error {
	buffered := false
	a, _ := h.current(func() {
		if h.committed {
			return
		}
		if len(h.sent) < h.c.maxReplay {
			h.sent = append(h.sent, m)
			buffered = true
			return
		}
		h.committed, h.sent = true, nil
		h.committedFast.Store(true)
	})
	if a == nil {
		return io.EOF // over: RecvMsg tells how
	}
	err := h.send(a, m)
	switch {
	case err == nil:
		return nil
	case err == io.EOF:
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.cur != a && buffered {
			return nil // an attempt given up: the next one sends m again
		}
		// The caller is told to stop sending: what it sent so far is no
		// longer what it means to send, so no attempt may replay it.
		h.committed, h.sent = true, nil
		h.committedFast.Store(true)
		return io.EOF
	default: // the client could not send m: grpc ended the stream
		h.mu.Lock()
		h.committed, h.sent = true, nil
		h.committedFast.Store(true)
		h.mu.Unlock()
		h.ended(a, err, nil, false)
		h.mu.Lock()
		for !h.done {
			h.cond.Wait()
		}
		h.mu.Unlock()
		return err
	}
}

func (h *hosted) send(a *attempt, m any) error {
	normal := false
	defer h.guard(a, &normal)
	err := a.cs.SendMsg(m)
	normal = true
	return err
}

func (h *hosted) CloseSend() error {
	a, _ := h.current(func() { h.closeSent = true })
	if a == nil {
		return nil
	}
	normal := false
	defer h.guard(a, &normal)
	err := a.cs.CloseSend()
	normal = true
	return err
}

// Header returns the header of the current attempt; once the caller has
// it, the stream is no longer retried (its header would change).
func (h *hosted) Header() (metadata.MD, error) {
	a, _ := h.current(nil)
	if a == nil {
		return nil, nil // as grpc: the status comes from RecvMsg
	}
	normal := false
	defer h.guard(a, &normal)
	md, err := a.cs.Header()
	normal = true
	if md != nil {
		h.commit(a)
	}
	return md, err
}

// Trailer returns the trailer of the latest attempt.
func (h *hosted) Trailer() metadata.MD {
	h.mu.Lock()
	a := h.last
	h.mu.Unlock()
	return a.cs.Trailer()
}

// Context returns the context of the latest attempt.
func (h *hosted) Context() context.Context {
	h.mu.Lock()
	a := h.last
	h.mu.Unlock()
	return a.cs.Context()
}
