package bulkhead_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/timeout"
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

// A bulkhead inside an abandoning timeout keeps its permit until the
// abandoned function really returns, so it bounds the functions running.
func Example_insideAnAbandoningTimeout() {
	p := bulwark.New(
		timeout.New(10*time.Millisecond, timeout.WithAbandon()),
		bulkhead.New(1),
	)
	release := make(chan struct{})
	err := p.Execute(context.Background(), func(ctx context.Context) error {
		<-release // ignores its context
		return nil
	})
	fmt.Println(errors.Is(err, timeout.ErrTimeout))
	err = p.Execute(context.Background(), func(ctx context.Context) error { return nil })
	fmt.Println(errors.Is(err, bulkhead.ErrFull)) // the abandoned function still holds the permit
	close(release)
	// Output:
	// true
	// true
}

// The options of a fixed bulkhead serve an adaptive one as well; those of
// an adaptive limit only NewAdaptive takes, so that
// bulkhead.New(64, bulkhead.WithLimits(1, 64)) does not compile.
func ExampleOption() {
	name, queue := bulkhead.WithName("inventory"), bulkhead.WithMaxQueue(8)
	fixed := bulkhead.New(64, name, queue)
	adaptive := bulkhead.NewAdaptive(bulkhead.Vegas(), name, queue, bulkhead.WithLimits(1, 64))
	fmt.Println(fixed.Snapshot().Limit, adaptive.Limit())
	// Output: 64 20
}
