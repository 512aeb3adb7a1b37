// Package soak runs bulwark under sustained faults: many calls from many
// goroutines through a full client pipeline in bulwarkhttp's Transport,
// against a loopback server behind bulwarkhttp's Middleware, with chaos
// injecting errors, latency spikes and panics on both sides. At the end it
// holds the policies to what the calls saw: every permit back, the
// breaker's, the retry's, the limiter's, the bulkhead's and the hedge's
// counts equal to what probes at their edges counted, every call answered
// by its deadline, no goroutine left and no heap kept. It has no code of
// its own: the soak is its test.
//
//	go test -race ./internal/soak -soak.calls=100000   # the CI form
//	go test ./internal/soak -soak.calls=1000000        # the long form
//	go test ./internal/soak -soak.duration=30m         # for a while
package soak
