package bulwark_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/bulwark-go/bulwark"
)

// eventQuotaSpent is an event kind of the quota policy's own.
var eventQuotaSpent = bulwark.NewEventType("quota_spent")

// errQuotaSpent matches bulwark.ErrRejected, so that every bulwark policy
// and middleware knows it for a local rejection.
var errQuotaSpent = fmt.Errorf("quota: spent: %w", bulwark.ErrRejected)

// quota is a policy written outside bulwark: it lets a fixed number of
// calls through, then rejects. It implements bulwark.Stage, so a pipeline
// runs it without allocating, and reports through Next.Report, so its
// events reach the pipeline's name, observers and OpenTelemetry as
// bulwark's own do.
type quota struct{ left atomic.Int64 }

func (q *quota) Execute(ctx context.Context, fn func(context.Context) error) error {
	return bulwark.RunStage(ctx, q, fn)
}

func (q *quota) ExecuteStage(ctx context.Context, next bulwark.Next) error {
	switch left := q.left.Add(-1); {
	case left < 0:
		return errQuotaSpent
	case left == 0:
		next.Report(ctx, bulwark.Event{Type: eventQuotaSpent, Policy: "quota", Name: "exports"})
	}
	return next.Run(ctx)
}

// A policy written outside bulwark, with an event kind of its own.
func Example_policy() {
	q := &quota{}
	q.left.Store(2)
	p := bulwark.New(q).With(bulwark.WithName("reports"),
		bulwark.WithObserver(func(_ context.Context, e bulwark.Event) {
			fmt.Printf("event %s of %s %q in pipeline %q\n", e.Type, e.Policy, e.Name, e.Pipeline)
		}))
	for range 3 {
		err := p.Execute(context.Background(), func(context.Context) error { return nil })
		fmt.Println(err, errors.Is(err, bulwark.ErrRejected))
	}
	// Output:
	// <nil> false
	// event quota_spent of quota "exports" in pipeline "reports"
	// <nil> false
	// quota: spent: bulwark: rejected true
}
