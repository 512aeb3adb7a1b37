// Package bulwarkhttp puts bulwark policies around net/http: Middleware
// for servers, Transport for clients. It uses the standard library only.
//
//	limit := ratelimit.NewKeyed(50, 100, bulwarkhttp.KeyFromContext)
//	mw := bulwarkhttp.Middleware(bulwark.New(breaker.New(), limit),
//		bulwarkhttp.WithKey(bulwarkhttp.ClientIP()))
//	http.ListenAndServe(addr, mw(mux))
//
//	client := &http.Client{Transport: bulwarkhttp.Transport(nil,
//		retry.New(), bulwarkhttp.WithAttemptTimeout(2*time.Second),
//		bulwarkhttp.WithHostPolicy(100, func(string) bulwark.Policy { return breaker.New() }))}
//	// or, with every setting chosen: bulwarkhttp.NewClient(nil)
//
// # Server: what the policy sees, what the client gets
//
// The handler runs inside the policy. The status it writes is the call's
// outcome: 500 and above is a failure (*StatusError), anything else a
// success ([WithFailureStatus] changes the set); the response reaches the
// client unchanged either way. A panic in the handler is a failure (a
// breaker counts it) that reaches net/http unchanged after every policy
// has released what it holds (panic(nil) too, in a program run with
// GODEBUG=panicnil=1 as well, where recover returns nil for it; a
// runtime.Goexit goes on as such); [http.ErrAbortHandler] raised for a
// client that has gone is the caller's business instead, not counted, and
// is raised again unchanged once the policy has returned.
//
// A handler writes its response to the client as it goes, so it answers a
// request once, whatever the policy: its failure reaches the policy as a
// failure that no retry or hedge repeats (a breaker still counts it), and
// an attempt a policy makes beside it or after it (a hedge, a retry after
// an abandoning timeout) does not run it and is refused as a local
// rejection (bulwark.ErrRejected), no outcome of the handler.
//
// A request the policy ends before the handler wrote anything is answered
// by the middleware, never with the error's text: [ratelimit.ErrLimited]
// becomes 429 Too Many Requests, any other rejection (bulwark.ErrRejected:
// an open breaker, a full bulkhead, a throttled call) 503 Service
// Unavailable, a timeout 503 ([WithTimeoutStatus] for 504; a handler that
// returns without writing a word once the policy's context has ended gave
// up, and counts as timed out), anything else 500, each with Retry-After in delta-seconds, rounded up, when the error
// carries a bulwark.RetryAfter hint, and the body the status's text
// ([WithRejectionWriter] replaces the writer). [WithRateLimitHeaders] adds
// the IETF RateLimit and RateLimit-Policy fields. A handler that has
// written is never interrupted: what it wrote stands.
//
// The ResponseWriter the handler gets has exactly the optional interfaces
// of the one it wraps (http.Flusher, http.Hijacker, io.ReaderFrom) and
// Unwrap, so http.ResponseController, streaming (SSE) and sendfile keep
// working. A handler abandoned by an abandoning timeout
// (timeout.WithAbandon) cannot write once its policy has returned: its
// writes fail with http.ErrHandlerTimeout, and the middleware answers once
// it has returned, since net/http allows no two writers on a
// ResponseWriter and none after ServeHTTP (the policy itself lets go at
// the deadline: a bulkhead's permit comes back then).
//
// Keys, for keyed limits (ratelimit.NewKeyed with [KeyFromContext]) and
// per-key policies ([NewPerKey]): [WithKey] with [ClientIP] (X-Forwarded-For
// believed only from trusted proxies, right-most untrusted hop first),
// [ClientIPForwarded] (the same with RFC 7239 Forwarded), [HeaderKey],
// [PatternKey] (Go 1.22 route patterns) or a function of your own.
//
// # Client: what the policies see
//
// Every time the policy runs its function, the Transport makes one attempt,
// and [Class] says what its response or error is ([DefaultClassifier],
// [WithClassifier]): transport errors and 429, 502, 503, 504 are failures
// to retry; 500 and the other 5xx are failures a breaker counts but that
// are not retried; other statuses, 4xx included, are answers (success);
// TLS, certificate and malformed-URL errors are permanent.
//
// A failure that is not to be retried (a 500, the failure of a request
// that may be sent only once) reaches the policies marked as a failure no
// bulwark retry or hedge repeats, which a breaker still counts, as the
// outcome table in the bulwark package doc says; bulwark.Permanent, which
// stops a retry too, is reserved for answers, which a breaker counts as
// successes.
//
// A Retry-After on a 429 or 503, in delta-seconds or as an HTTP-date, is
// the error's bulwark.RetryAfter hint, capped by [WithMaxRetryAfter]
// (30s): retry waits it instead of its backoff, and gives up at once when
// it does not fit the deadline.
//
// # Client: what the caller gets
//
// The response of the attempt that succeeded, or, when the policies end on
// a status (retries exhausted on 503s, a 500 not retried, a wait that does
// not fit), the last response itself with its body intact, with a nil
// error; an error otherwise (a rejection, a timeout, a transport error).
// Every response that is not returned is drained (up to 64 KiB) and
// closed, so that its connection goes back to the pool.
//
// Only requests that may be repeated are sent more than once: idempotent
// methods (GET, HEAD, OPTIONS, TRACE, PUT, DELETE) or an Idempotency-Key
// header ([WithIdempotent]), whose body, if any, can be replayed with
// Request.GetBody. Any other request is sent once, and its failure stops
// the retry as above; a request rejected before it was sent may still go.
//
// Each attempt's request runs under a context of its own, a child of the
// request's: the policies' contexts end when the policies return (a
// timeout.Timeout cancels its context then), while the response's body
// must stay readable until the caller closes it. The attempt's own ends
// are brought onto that context while it runs: a timeout.Timeout or a
// hedge inside the policy (through context.AfterFunc), [WithAttemptTimeout]
// and [WithTotalTimeout] (a timer each). The transport's own timeouts are
// the cheaper way to the same bounds: with retry and a breaker, a
// successful request costs 3 allocations besides the base RoundTripper's,
// 7 with WithAttemptTimeout, and 18 with a timeout.Timeout inside the
// policy instead (its context and timer, the children they register, and
// the bridge). Values the policies add to their contexts do not reach the
// base RoundTripper.
//
// [WithHostPolicy] gives each upstream host a policy of its own, run
// inside the Transport's policy around every attempt: a breaker per host,
// at most a bounded number of hosts. [StandardTransport] and [NewClient]
// put it all together, and say where they differ from Polly's standard
// resilience handler.
//
// # OpenTelemetry
//
// The policies add their span events (bulwark.retry,
// bulwark.breaker.state_change ...) to the span in the context they run
// under. Wrap otelhttp outside bulwarkhttp on both sides:
//
//	otelhttp.NewTransport(bulwarkhttp.Transport(base, p))
//	otelhttp.NewHandler(bulwarkhttp.Middleware(p)(h), "server")
//
// so that every event of a request lands on its one client or server span.
// The other way round (Transport(otelhttp.NewTransport(base), p)), each
// attempt gets a client span of its own, and the policies' events land on
// the caller's span.
//
// # Costs
//
// Middleware allocates one object of 64 bytes per request (its state,
// which is also the ResponseWriter and the policies' context), as many as
// calling the policy's Execute with a closure, and one more, the request's
// copy, when a key is set or a policy gives the handler a new context (a
// timeout).
// Transport allocates its state and the context the policies run under (three
// objects), plus, per attempt, what the policies' contexts and the base
// RoundTripper cost; see the benchmarks module for figures beside
// hand-written code and peers.
package bulwarkhttp
