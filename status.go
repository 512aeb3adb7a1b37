package bulwark

import "time"

// Status is what a policy knows at one moment, in one shape for every kind
// of policy, so that a dashboard or a health check reads any policy without
// knowing its package. Fields that do not apply to a kind are zero; each
// package's own Snapshot method has the details.
type Status struct {
	Kind  string // the policy's kind: "breaker", "retry", "bulkhead" ...
	Name  string // its instance name, "" if unnamed
	State string // its state where it has one ("closed", "open" ...), else ""

	// Calls counted since the policy was built, by outcome, as the policy
	// counts them: a policy counts only what its own logic needs (a
	// breaker every call, a bulkhead or a rate limiter its rejections), so
	// that the success path stays free. Rejected counts the policy's own
	// rejections.
	Successes, Failures, Ignored, Rejected int64

	// Concurrency: calls running, the current limit, calls waiting.
	InFlight, Limit, Queued int
	// Tokens left in a rate limiter's bucket or a retry budget.
	Tokens float64
	// NextState is the time until the state changes by itself (an open
	// breaker's wait before half-open), 0 if it will not.
	NextState time.Duration
	// Retries and Hedges count the extra attempts of a retry or a hedge.
	Retries, Hedges int64
}

// Inspectable is implemented by every bulwark policy: Status returns the
// policy's state in the shape shared by all kinds. It is safe to call
// concurrently with calls through the policy and takes no lock that a call
// holds for long.
type Inspectable interface {
	Status() Status
}
