package hedge_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
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
