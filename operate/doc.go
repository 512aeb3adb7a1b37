// Package operate shows bulwark's policies to the people who run a
// service: a registry of named policies and pipelines, a JSON status, a
// health endpoint and a live dashboard, served by one http.Handler.
//
//	reg := operate.NewRegistry()
//	reg.Register("payments", paymentsBreaker, operate.Critical())
//	reg.Register("checkout", checkoutPipeline) // with its stages: checkout/retry, checkout/breaker ...
//	mux.Handle("/debug/bulwark/", http.StripPrefix("/debug/bulwark", operate.Handler(reg)))
//
// Nothing is global: a [Registry] is a value the program builds and hands
// to [Handler]. A registered pipeline registers each of its stages as
// name/label, the label being the stage's instance name, else its kind.
//
// # What it reads
//
// Every policy is read through bulwark.Inspectable alone, whatever its
// package: kind, instance name, state, calls by outcome, in flight, limit,
// queue, tokens, time until the next state, retries and hedges. What
// Status does not hold is derived here:
//
//   - recent events: a ring of the last 32 records per policy, fed by an
//     observer the registry adds to the built policy. A run of alike
//     events (a retry per call while a dependency is down) takes one
//     record with a count; rejections are not listed, only counted, since
//     an open breaker rejects at the call rate;
//   - rates and ratios: the registry samples the counts when it is read
//     (by /status or /events), at most once a second, and keeps a minute
//     of samples for the sparklines, so rates cover the time someone was
//     looking. A policy counts only what its own logic needs (a retry its
//     failures, a bulkhead its rejections): an outcome it has never
//     counted has a null rate, and the failure and rejection ratios exist
//     only for a policy that counts its successes (a breaker);
//   - latency: only where it is measured already, by a pipeline built with
//     bulwark.WithCallDuration, whose mean call duration per sample is the
//     pipeline's sparkline. No policy is timed for the dashboard, and the
//     pipeline's durations are summed only while the registry is read, and
//     two minutes after the last read.
//
// # What it costs a call
//
// Nothing on a success path: registering adds no allocation, lock, clock
// read or goroutine to a call that succeeds (BenchmarkSuccessPath compares
// bare, registered and watched policies in one run). The observer is
// called only where the policy reports an event anyway; a rejection of a
// registered breaker is told to the observer, which drops it without a
// lock. While the registry is read, a pipeline built with WithCallDuration
// hands each call's duration, which it measures anyway, to a counter
// striped per processor, a few nanoseconds; two minutes after the last
// read, the first call detaches the counter and the pipeline runs as if it
// were not registered. Nothing on a call's path takes the registry's lock;
// reading the registry calls each policy's Status, which takes no lock that
// a call holds for long.
//
// A registry that is garbage-collected detaches its observers from the
// policies that outlive it. Register reads the policy's fields to attach
// its observer: register a zero-value policy, which is configured by its
// first call, before or after that call, not while it runs; one registered
// before it has no recent events.
//
// # Endpoints
//
// GET / is the dashboard: a single page, embedded in the binary, with its
// script and style inline and a Content-Security-Policy that allows
// nothing else (no external asset, no framework, no build step). One card
// per policy, grouped by pipeline: the state as a colour and a word, calls
// per second by outcome with a one-minute sparkline, in flight and limit,
// the time until the next state, the recent events, and a latency
// sparkline per pipeline that measures it. It follows /events, reads on a
// phone (cards stack in one column), and every control is a button,
// reachable and pressed with the keyboard.
//
// GET /status is the JSON document the page renders: "time", "healthy",
// "controls", "pipelines" (name, critical, stages, "latency_ms" with
// "mean" and "history", or null) and "policies", each with name,
// pipeline, kind, policy_name, state, critical, failing, calls, rates and
// ratios by outcome, in_flight, limit, queued, tokens,
// next_state_seconds, retries, hedges, actions, events (newest first:
// time, first, count, type, from, to, reason, attempt, delay_seconds,
// limit, error) and history. Every field is present for every kind; one
// that cannot be known is null. testdata/status.golden pins it.
//
// GET /events streams that document as server-sent events named "status":
// one at once, then one per interval ([WithInterval], 500ms by default,
// never below 100ms), so a transition reaches the page within one
// interval. The stream runs on its request's goroutine and ends with it.
//
// GET /healthz answers 200 {"status":"ok"}, or 503 with
// {"status":"unavailable","failing":[...]} while a policy registered with
// [Critical] is open or isolated, each failing row naming the policy, its
// state and the reason it entered it when its recent events tell
// ("consecutive_failures", "isolate"). Half-open and disabled do not fail
// it: a half-open breaker is on its way back, a disabled one lets every
// call through. ?verbose adds every policy's row.
//
// # Controls
//
// [WithControls] adds POST /control (form values name and action:
// isolate, reset or disable) and the page's buttons, for the policies that
// have those methods (breakers). It is an admin surface, off by default:
// mount the handler behind the application's authentication and on an
// internal listener. A request without the [ControlHeader] header is
// refused with 403: a page of another origin cannot set a custom header
// without a CORS preflight, which this handler never grants, so a
// cross-site form or script cannot act (CSRF).
package operate
