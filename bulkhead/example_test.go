package bulkhead_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
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

// An adaptive limit follows the dependency's latency. AIMD grows it by
// one after each window of samples (here 10 calls) taken with the limit in
// use and fast calls, and halves it after a window whose calls took
// longer than 20ms on average.
func ExampleNewAdaptive() {
	a := bulkhead.NewAdaptive(bulkhead.AIMD(0.5, 20*time.Millisecond),
		bulkhead.WithInitialLimit(4), bulkhead.WithSampleWindow(time.Nanosecond), bulkhead.WithMaxQueue(100))
	// load runs as many calls at once as the limit lets through, each
	// taking d once all have started, until the limit moves.
	load := func(d time.Duration) {
		for before := a.Limit(); a.Limit() == before; {
			n := a.Limit()
			var started, done sync.WaitGroup
			started.Add(n)
			for range n {
				done.Go(func() {
					_ = a.Execute(context.Background(), func(ctx context.Context) error {
						started.Done()
						started.Wait()
						time.Sleep(d)
						return nil
					})
				})
			}
			done.Wait()
		}
		fmt.Print(" ", a.Limit())
	}
	fmt.Print("fast: ", a.Limit())
	load(0)
	load(0)
	fmt.Print("\nslow: ", a.Limit())
	load(60 * time.Millisecond)
	load(60 * time.Millisecond)
	load(60 * time.Millisecond)
	fmt.Println()
	// Output:
	// fast: 4 5 6
	// slow: 6 3 2 1
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
