// Package chaos injects faults into calls, to prove that the policies
// around them do their work: errors, delays, panics and replaced outcomes,
// each in a configured share of the calls, switched on for every call, for
// one call or request, or for a request across every service it reaches.
//
//	c := chaos.New(
//		chaos.WithError(0.3, errUnavailable),              // 30% fail at once
//		chaos.WithLatency(0.1, 5*time.Second, time.Second), // 10% wait 5s ± 1s first
//	)
//	p := bulwark.New(fallback.New(useCache), timeout.New(time.Second), retry.New(), breaker.New(), c)
//	c.SetEnabled(true) // or chaos.Enable(ctx) for one call
//
// Put the Chaos where the fault should seem to come from. Innermost it
// plays the dependency: every attempt of a retry, every hedge, every
// breaker probe meets its faults. Outermost it plays a fault in the
// caller's own process.
//
// # Faults and rates
//
// [WithLatency] holds a call before it runs, for d plus a jitter drawn
// uniformly from [-jitter, +jitter] to the nanosecond, and the call's ctx
// cuts the wait short: the call then returns ctx.Err() without running.
// [WithError] returns an error instead of running the call, [WithPanic]
// panics with [ErrPanic] instead, and [WithOutcome] runs the call and
// hands its outcome to a function whose result replaces it. Each option
// may be given several times.
//
// A rate is a share of all the calls made while enabled: a Chaos with
// WithError(0.3, e1) and WithError(0.1, e2) fails 30% of its calls with e1
// and 10% with e2, each within a point of it over 100,000 seeded calls.
// That holds because the faults of one family share one random draw per
// call, each taking its own slice of [0, 1): the delays are one family,
// the errors, panics and outcomes (at most one of which can happen to a
// call) the other, and the rates of a family add up to 1 at most (New
// panics otherwise). A call may be delayed and then fail, as a slow
// dependency that times out on its side does. Draws are 64-bit, so a rate
// as small as 1e-12 is honoured (about once in 10^12 calls); a rate is in
// [0, 1], and NaN, a negative rate or one above 1 panics at construction,
// naming the option.
//
// Polly's chaos strategies (Simmy) draw for each strategy on its own, so
// an outcome strategy at 30% behind a fault strategy at 30% sees only the
// 70% that got past the first and replaces 21% of the calls; Envoy's fault
// filter draws its delay and its abort separately, as a Chaos draws its
// two families. Here the rate configured is the rate observed.
//
// # Determinism
//
// [WithSeed] draws the decisions from a PCG generator (math/rand/v2) with
// the seed: the same options and seed make the same decisions for the same
// sequence of calls, which the calls of one goroutine, one after the
// other, are. Each call draws its numbers together, under a mutex held for
// the draws alone (never across the call, a delay or a report), in a fixed
// order (the delay, its jitter if it has one, the abort), so a call's
// decision is never split by another's; calls made from several
// goroutines at once share one sequence in the order they reach it, which
// the scheduler decides. An injected panic is drawn before it is raised,
// so it leaves nothing locked and the sequence goes on. Unseeded, a Chaos
// draws from math/rand/v2's per-thread generator, without a lock.
//
// # Switching it on
//
// A Chaos starts disabled. It injects into a call when any of these says
// so:
//
//   - [Chaos.SetEnabled](true), for every call, until SetEnabled(false);
//   - a context from [Enable], for the calls made under it: one call, or one
//     request and everything it calls in this process;
//   - a [WithEnabled] predicate: a tenant, a header, a share of the traffic;
//   - the OpenTelemetry baggage member bulwark.chaos=on, set by
//     [EnableBaggage] in a client or at a test's first hop, when the Chaos
//     was built with WithEnabled([BaggageEnabled]).
//
// Baggage is opt-in because it comes from outside the process: with the
// baggage propagator installed, any caller that can send a request can set
// it, and a Chaos that honoured it by default would let a stranger inject
// faults into every service behind the edge. Build with BaggageEnabled
// only the services of a test or staging environment, or strip the member
// at the edge. The member travels wherever the baggage propagator carries
// it; with OpenTelemetry's instrumentation:
//
//	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(
//		propagation.TraceContext{}, propagation.Baggage{}))
//	handler := otelhttp.NewHandler(bulwarkhttp.Middleware(p)(mux), "server")        // extracts it
//	client := &http.Client{Transport: otelhttp.NewTransport(bulwarkhttp.Transport(nil, q))} // injects it
//
// and by hand, without otelhttp, propagation.Baggage{}.Extract on the
// server's request context before bulwarkhttp.Middleware, and
// propagation.Baggage{}.Inject into the outgoing request's headers (the
// outgoing request must be made with the incoming request's context, or a
// context derived from it). gRPC's otelgrpc handlers do the same.
//
// # Cost when disabled
//
// Disabled, a call costs two atomic loads (the switch, and whether Enable
// was ever called), a nil check of the predicate and, once Enable has been
// called anywhere in the process, a lookup of Enable's mark in the call's
// context: no allocation, no lock, no clock reading. Until Enable is first
// called, no context can carry the mark and the lookup is skipped.
// Measured against a fallback (a stage that does nothing on success) in
// the same run, on a shared 2-vCPU VM: under a nanosecond more before
// Enable is used; once it is, a few nanoseconds more, growing with the
// depth of the context, since a context lookup walks its chain. A
// WithEnabled predicate adds its own cost to every disabled call
// (BaggageEnabled: a baggage lookup, also a context walk). Enabled, a call
// that gets no fault or an injected error allocates nothing either when
// nothing listens for events; a delay starts a timer.
//
// # Counts and events
//
// Each injected fault is reported as [EventInjected] ("injected"), with
// Reason the kind of fault ("error", "latency", "panic", "outcome"),
// Delay the delay injected, and Err the error injected, [ErrPanic], or the
// outcome an outcome function returned: counted in bulwark.events,
// added to the call's span as bulwark.chaos.injected, and passed to
// observers. A delay and a panic are reported before they happen, so an
// observer sees them in time; an outcome after its function returned.
//
// [Chaos.Snapshot] counts the faults injected since the Chaos was built,
// by kind, and the calls held in a delay now. [Chaos.Status] maps them
// into the shape every policy shares: State is SetEnabled's switch
// ("enabled" or "disabled"; Enable and predicates do not change it),
// Failures the faults that changed a call's outcome (errors, panics and
// outcomes, exported as the bulwark.calls series with outcome "failure"),
// and InFlight the calls held in a delay now. The delays injected are
// counted in Snapshot only: they change no outcome.
//
// # Zero value
//
// The zero Chaos, and one built without faults, inject nothing: they run
// every call, enabled or not. A Chaos is safe for concurrent use.
package chaos
