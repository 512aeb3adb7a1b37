package bulkhead_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bulwark-go/bulwark/bulkhead"
)

func Example() {
	b := bulkhead.New(1)
	release := make(chan struct{})
	done := make(chan error)
	go func() {
		done <- b.Execute(context.Background(), func(ctx context.Context) error { <-release; return nil })
	}()
	for b.Snapshot().InFlight == 0 {
		time.Sleep(time.Millisecond) // wait for the first call to hold the permit
	}
	err := b.Execute(context.Background(), func(ctx context.Context) error { return nil })
	fmt.Println(errors.Is(err, bulkhead.ErrFull))
	close(release)
	fmt.Println(<-done)
	// Output:
	// true
	// <nil>
}

func ExampleNewAdaptive() {
	a := bulkhead.NewAdaptive(bulkhead.Vegas(), bulkhead.WithLimits(10, 500), bulkhead.WithInitialLimit(50))
	err := a.Execute(context.Background(), func(ctx context.Context) error { return nil })
	fmt.Println(err, a.Limit())
	// Output: <nil> 50
}

func ExampleNewThrottler() {
	th := bulkhead.NewThrottler(bulkhead.WithK(2))
	err := th.Execute(context.Background(), func(ctx context.Context) error { return nil })
	fmt.Println(err, th.Probability())
	// Output: <nil> 0
}
