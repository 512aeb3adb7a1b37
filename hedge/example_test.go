package hedge_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/budget"
	"github.com/bulwark-go/bulwark/hedge"
)

func Example() {
	h := hedge.New(hedge.WithDelay(10 * time.Millisecond))
	var n atomic.Int32
	replica, err := bulwark.Get(context.Background(), h, func(ctx context.Context) (string, error) {
		if n.Add(1) == 1 {
			<-ctx.Done() // the first replica is stuck; the hedge's win cancels it
			return "", ctx.Err()
		}
		return "replica-2", nil
	})
	fmt.Println(replica, err)
	// Output: replica-2 <nil>
}

func ExampleWithBudget() {
	b := budget.NewToken(10, 0.1) // shared with the retries of the same service
	h := hedge.New(hedge.WithDelay(time.Millisecond), hedge.WithBudget(b))
	var n atomic.Int32
	err := h.Execute(context.Background(), func(ctx context.Context) error {
		if n.Add(1) == 1 {
			<-ctx.Done() // slow, then cancelled: the hedge won
			return ctx.Err()
		}
		return nil
	})
	fmt.Println(err, n.Load(), b.Tokens()) // a cancelled loser is no failure
	// Output: <nil> 2 10
}
