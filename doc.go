// Package bulwark composes resilience policies (circuit breaker, retry,
// hedging, bulkhead, rate limiter, timeout, fallback, fault injection)
// around any call of the form func(ctx context.Context) error.
//
// Every policy implements [Policy]. A [Pipeline], built with [New], composes
// policies outermost first and is itself a Policy, so pipelines nest:
//
//	p := bulwark.New(
//		fallback.New(useCache),            // outermost: sees the final error
//		timeout.New(2*time.Second),        // total time budget
//		retry.New(retry.WithMaxAttempts(3)),
//		timeout.New(300*time.Millisecond), // innermost: per-attempt budget
//	)
//	err := p.Execute(ctx, func(ctx context.Context) error { return callInventory(ctx) })
//	user, err := bulwark.Get(ctx, p, func(ctx context.Context) (User, error) { return load(ctx, id) })
//
// Policies are built once and shared by every call; nothing per call is
// stored in them. Results travel by closure capture or through [Get]. A
// call's outcome is an error: conditions on results (an HTTP 503, a gRPC
// code) are turned into errors by the middleware, so every policy sees one
// vocabulary.
//
// # Errors
//
// Every rejection of every policy matches [ErrRejected] with errors.Is, and
// one that knows when the call may come back says so through [RetryAfter].
// [Permanent] marks an error that no policy retries. A context cancelled by
// the caller is the caller's business ([CallerCanceled]): it is returned as
// it is and never counts as a failure of the dependency. Invalid
// configuration is rejected when a policy is built, by a panic whose message
// names the package, the option and the value, the way time.NewTicker
// rejects a non-positive interval; nothing fails at call time because of
// configuration. A nil context or function at call time is an error
// ([ErrNilContext], [ErrNilFunc]), not a panic.
//
// # Outcomes
//
// Every policy reads a call's error with one vocabulary. Before anything
// else, a nil error is a success, and the caller's own cancellation or
// deadline ([CallerCanceled]) is returned as it is and counts for nothing:
// the caller has gone, the dependency did not fail. A local rejection by a
// bulwark policy (an error matching [ErrRejected]: an open breaker, a full
// bulkhead, a rate limit, a throttled call) means the dependency was never
// asked, so it is no outcome of the dependency either. A timeout
// (timeout.ErrTimeout) is not a rejection: the dependency was asked and was
// slow. An error marked [Permanent] is the dependency's definitive answer
// (a 404, an invalid argument): nothing retries or hedges it, and the
// policies that learn from outcomes count it as a success, since the
// dependency answered.
//
// The policies that learn from outcomes (breaker, adaptive bulkhead,
// throttler, hedge's latency tracker) share the options WithFailureIf and
// WithIgnoreIf, with the same defaults: IgnoreIf (default none) takes an
// error out of the count, and FailureIf (default: every error not marked
// Permanent) decides what else is a failure; what it declines is a
// success. Neither can turn the caller's cancellation or a local rejection
// into a failure.
//
//	policy            success                failure                      ignored                  a rejection from inside
//	----------------  ---------------------  ---------------------------  -----------------------  ---------------------------------
//	breaker           nil, Permanent,        any other error, a timeout,  caller cancel,           ignored; returned as it is
//	                  FailureIf declines     a panic (never "slow")       IgnoreIf                 (the breaker's own: ErrOpen)
//	adaptive          nil, Permanent,        any other error, a timeout:  caller cancel, IgnoreIf, ignored: not a drop
//	bulkhead          FailureIf declines:    a drop                       a panic: no sample
//	                  a latency sample
//	throttler         nil, Permanent,        any other error, a timeout:  caller cancel, IgnoreIf, not counted, not an overload
//	                  FailureIf declines:    not accepted                 a panic                  signal
//	                  accepted
//	hedge             nil: the winner; its   any other error: the next    caller cancel            not hedged; returned at once
//	                  latency is recorded    hedge starts at once;
//	                                         Permanent ends hedging
//	retry             nil: returned          any error but Permanent is   caller cancel: returned  retried only when its RetryAfter
//	                                         retried, a timeout included                           hint fits the remaining attempts
//	                                                                                               and deadline; else returned
//	fixed bulkhead,   learns nothing:        -                            -                        passed through
//	rate limiters     outcomes pass through
//	timeout           nil                    its own deadline fired:      caller cancel or an      passed through
//	                                         ErrTimeout, wrapping the     earlier caller deadline:
//	                                         call's error                 returned as it is
//	fallback          nil                    every error is handled (a    caller cancel: never     handled, like any error
//	                                         rejection too), unless       handled
//	                                         WithHandleIf declines
//
// A panic in the protected function is re-raised to the caller unchanged,
// once, after every policy has released what it holds (permits, probes,
// timers, goroutines); only fallback.WithRecover turns it into an error.
//
// # How a pipeline avoids allocation
//
// The obvious pipeline wraps the protected function in one closure per
// layer on every call; each closure escapes to the heap. bulwark instead
// links the policies into a chain of nodes once, when the pipeline is built,
// and every built-in policy implements [Stage] beside [Policy]: its
// ExecuteStage receives the rest of the pipeline as a [Next], a two-word
// value (the policy's node and the protected function) that it passes by
// value and runs with [Next.Run]. No per-call object exists, so nothing is
// pooled and nothing can be recycled under a goroutine that still uses it:
// a hedge may run a Next on several goroutines, and an abandoning timeout
// may leave one running after the call returns. A layer costs one
// interface call, about 3-4 ns, and a pipeline of built-in policies whose
// success path does nothing allocates nothing. The protected function is
// the caller's: like any function handed through an interface, a closure
// that captures variables escapes to the heap, and that allocation (one or
// two small objects, whatever the pipeline's length) is the caller's.
//
// A policy from outside bulwark that implements only Policy works in any
// position. As the innermost policy it receives the protected function
// itself and costs nothing more; anywhere else it receives the rest of the
// pipeline as a method value, which costs one small allocation (24 bytes)
// per call. Implementing [Stage] removes it.
//
// # Events and telemetry
//
// Every policy reports what happened (a state change, a scheduled retry, a
// rejection, a timeout, a fallback, a hedge) as an [Event] carrying the
// policy's kind and name and the pipeline's name. Each event is
//
//   - counted in the bulwark.events counter, through the nearest
//     metric.MeterProvider given explicitly (the policy's own, else the
//     innermost pipeline's, else the global provider);
//   - added as a span event, named bulwark.<policy>.<event>
//     ("bulwark.timeout", "bulwark.fallback", "bulwark.breaker.state_change"),
//     to the recording span in the call's context;
//   - passed to the policy's observers, then to the observers of each
//     pipeline around it, innermost first ([Observer], [SlogObserver],
//     [WithObserver]).
//
// Hooks and telemetry are never called with a lock held. By default the
// global providers are used, so nothing is recorded until the application
// installs an OpenTelemetry SDK; until then, and when no span records and no
// observer is set, an event costs three checks and no allocation. The
// success path reports no event at all: counts that change on every call
// are kept by the policies that need them for their own logic and exported
// through observable instruments read at collection time. Pass-through
// policies (timeout, fallback) count only the events they act on; the
// opt-in bulwark.call.duration histogram ([WithCallDuration]) counts every
// call of a pipeline by outcome. Metric attributes are bounded: never a key,
// a URL or an error text.
package bulwark
