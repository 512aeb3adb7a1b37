package throttle_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/bulwark-go/bulwark/throttle"
)

func Example() {
	th := throttle.New()
	err := th.Execute(context.Background(), func(ctx context.Context) error { return nil })
	fmt.Println(err, errors.Is(err, throttle.ErrThrottled))
	// Output: <nil> false
}

// A dependency that answers 10 calls, then starts refusing work: the
// probability of local rejection stays 0 while requests are fewer than
// K = 2 times the accepts, then rises with every refused call (locally
// rejected ones included: they were not accepted either) up to the cap.
func ExampleNew() {
	th := throttle.New(throttle.WithK(2), throttle.WithMaxRejection(0.9))
	healthy := func(ctx context.Context) error { return nil }
	refusing := func(ctx context.Context) error { return errors.New("503 service unavailable") }
	for range 10 {
		_ = th.Execute(context.Background(), healthy)
	}
	fmt.Printf("healthy: %.2f\n", th.Probability())
	for _, n := range []int{10, 10, 20, 60} {
		for range n {
			_ = th.Execute(context.Background(), refusing)
		}
		fmt.Printf("after %d more refusals: %.2f\n", n, th.Probability())
	}
	// Output:
	// healthy: 0.00
	// after 10 more refusals: 0.00
	// after 10 more refusals: 0.32
	// after 20 more refusals: 0.59
	// after 60 more refusals: 0.81
}
