// Package hook lets package bulwark hand its machinery to bulwark's own
// packages without exporting it: the root sets these variables when it is
// initialised, and internal/telemetry and the policies read them through
// typed wrappers. It imports nothing of bulwark, so the root may import it.
// (grpc-go's internal package works the same way.)
package hook

// Set by package bulwark's init; each holds a function whose type names
// bulwark's own types, so it is stored as any.
var (
	// NewReporter is func(kind, name string, mp metric.MeterProvider,
	// observers []bulwark.Observer) any, returning a value with the
	// methods of telemetry.Reporter.
	NewReporter any
	// Detach is func(bulwark.Next) bulwark.Next: the Next without its
	// function, reporting in the same pipelines.
	Detach any
	// Inspect is func(error) (permanent bool, retryAfter time.Duration,
	// hinted bool): what IsPermanent and RetryAfter say, in one pass.
	Inspect any
	// Stages is func(bulwark.Policy) ([]bulwark.Policy, bool): the
	// policies of a pipeline, outermost first, nested pipelines spliced
	// in, and whether the policy is a pipeline.
	Stages any
	// Tap is func(bulwark.Policy, bulwark.Observer) (untap func(), ok
	// bool): it adds an observer to a built policy's own reporter, found
	// among the policy's fields, until untap is called.
	Tap any
	// TapDuration is func(bulwark.Policy, func(start time.Time, took
	// time.Duration)) (untap func(), ok bool): for a pipeline built with
	// WithCallDuration, the function receives the start and duration of
	// every call, until untap.
	TapDuration any
)
