// Package bulwark composes resilience policies (circuit breaker, retry,
// hedging, bulkhead, rate limiter, timeout, fallback, fault injection,
// coalescing) around any call of the form func(ctx context.Context) error.
// Middleware for net/http (middleware/bulwarkhttp) and gRPC
// (middleware/bulwarkgrpc) puts them around requests; package operate shows
// them on a live dashboard and a health endpoint; ratelimit/redislimit and
// breaker/redisstore share limits and breaker state across instances.
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
// ([ErrNilContext], [ErrNilFunc]), not a panic. The allocation-free design
// of pipelines is described with [Stage].
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
// [Lint] reads a built pipeline and reports the orders of policies that
// cannot work as written (a per-attempt timeout outside the retry, a retry
// inside a breaker, a bulkhead outside an abandoning timeout ...), each
// with what is wrong and why, for a test or a start-up check.
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
// a URL or an error text. Meters are created under the instrumentation
// scope "github.com/bulwark-go/bulwark" with [Version].
//
// The names, shared by every package:
//
//   - attributes: bulwark.pipeline (pipeline name), bulwark.policy (kind:
//     breaker, retry ...), bulwark.policy.name (instance name),
//     bulwark.event (the EventType's String), bulwark.outcome (success,
//     failure, ignored, rejected), bulwark.state (on state gauges),
//     bulwark.state.from and bulwark.state.to, bulwark.attempt; on span
//     events only, bulwark.delay (seconds), bulwark.reason, bulwark.error
//     and bulwark.limit; an empty attribute (an unnamed policy, a call
//     outside a named pipeline) is left out, not sent as "";
//   - instruments: bulwark.events (counter, one per event), bulwark.calls
//     (observable counter by outcome, read from the policies' own counts),
//     bulwark.breaker.state (observable gauge, 1 for the current state),
//     bulwark.bulkhead.inflight and bulwark.bulkhead.queued, bulwark.limit
//     (observable gauges), bulwark.call.duration (histogram, seconds,
//     opt-in).
//
// # Policies written outside bulwark
//
// A Policy from anywhere works in any position of a pipeline. Implementing
// [Stage] as well makes it free of allocation there, and [Next.Report]
// reports its events, of bulwark's types or of its own ([NewEventType]),
// into the pipeline's name, observers and OpenTelemetry with one call. A
// rejection that matches [ErrRejected], with a [WithRetryAfter] hint when it
// knows one, is understood by every bulwark policy and middleware.
//
// # Go versions
//
// bulwark needs Go 1.26, the oldest release Go still supports: the fix of
// the HTTP/2 advisories reachable through golang.org/x/net (GO-2026-6617
// and others, fixed in x/net v0.60.0) needs it. Build with a patched
// release (1.26.10 or later, 1.27.3 or later): the standard library of
// earlier ones has advisories that bulwark's net/http and crypto/tls paths
// reach, which only the toolchain can fix.
package bulwark
