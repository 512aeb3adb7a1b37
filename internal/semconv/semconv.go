// Package semconv holds the names of bulwark's telemetry, so that every
// package and the dashboard agree: the instrumentation scope, the
// attribute keys and the instrument names. The root package doc lists them
// for users.
package semconv

import "go.opentelemetry.io/otel/attribute"

// ScopeName is the instrumentation scope of every meter bulwark creates.
const ScopeName = "github.com/bulwark-go/bulwark"

// Attribute keys of bulwark's metrics and span events. Metric attributes
// stay bounded: no key, URL or error text is ever a metric attribute value.
const (
	AttrPipeline   = attribute.Key("bulwark.pipeline")    // pipeline name
	AttrPolicy     = attribute.Key("bulwark.policy")      // policy kind: breaker, retry ...
	AttrPolicyName = attribute.Key("bulwark.policy.name") // policy instance name
	AttrEvent      = attribute.Key("bulwark.event")       // the event type's name
	AttrOutcome    = attribute.Key("bulwark.outcome")     // success, failure, ignored or rejected
	AttrState      = attribute.Key("bulwark.state")       // a policy's current state, on state gauges
	AttrStateFrom  = attribute.Key("bulwark.state.from")
	AttrStateTo    = attribute.Key("bulwark.state.to")
	AttrAttempt    = attribute.Key("bulwark.attempt")
	AttrDelay      = attribute.Key("bulwark.delay")  // seconds; span events only
	AttrReason     = attribute.Key("bulwark.reason") // span events only
	AttrError      = attribute.Key("bulwark.error")  // error text; span events only
	AttrLimit      = attribute.Key("bulwark.limit")  // a new limit; span events only
)

// Instrument names.
const (
	// MetricEvents counts events, by pipeline, policy, policy name, event
	// type and, for state changes, the states.
	MetricEvents = "bulwark.events"
	// MetricCalls counts the calls through a policy, by policy, policy
	// name and outcome, for the policies that count calls for their own
	// logic; read from the policy's counters at collection time.
	MetricCalls = "bulwark.calls"
	// MetricCallDuration is the duration of pipeline calls in seconds, by
	// pipeline and outcome; recorded only for pipelines built with
	// WithCallDuration.
	MetricCallDuration = "bulwark.call.duration"
)
