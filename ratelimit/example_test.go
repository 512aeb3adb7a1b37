package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/ratelimit"
)

func Example() {
	lim := ratelimit.New(10, 2) // 10 calls a second, bursts of 2
	for i := range 3 {
		err := lim.Execute(context.Background(), func(ctx context.Context) error { return nil })
		d, _ := bulwark.RetryAfter(err)
		fmt.Println(i, errors.Is(err, ratelimit.ErrLimited), d.Round(10*time.Millisecond))
	}
	// Output:
	// 0 false 0s
	// 1 false 0s
	// 2 true 100ms
}

func ExampleNewSlidingWindow() {
	perMinute := ratelimit.NewSlidingWindow(100, time.Minute)
	allowed := 0
	for range 150 {
		if perMinute.Execute(context.Background(), func(ctx context.Context) error { return nil }) == nil {
			allowed++
		}
	}
	fmt.Println(allowed)
	// Output: 100
}

type userKey struct{}

func ExampleNewKeyed() {
	perUser := ratelimit.NewKeyed(1, 1, func(ctx context.Context) string {
		user, _ := ctx.Value(userKey{}).(string)
		return user
	}, ratelimit.WithMaxKeys(100000))
	call := func(user string) error {
		ctx := context.WithValue(context.Background(), userKey{}, user)
		return perUser.Execute(ctx, func(ctx context.Context) error { return nil })
	}
	fmt.Println(call("ann") == nil, call("ann") == nil, call("bob") == nil)
	// Output: true false true
}

// The options every limiter takes serve all three constructors; a token
// bucket's wait serves both token buckets, and the key bounds only the
// keyed limiter: ratelimit.NewSlidingWindow(100, time.Minute,
// ratelimit.WithMaxWait(time.Second)) does not compile.
func ExampleWindowOption() {
	name := ratelimit.WithName("api")
	wait := ratelimit.WithMaxWait(50 * time.Millisecond)
	perUser := func(ctx context.Context) string { user, _ := ctx.Value(userKey{}).(string); return user }

	bucket := ratelimit.New(100, 10, name, wait)
	keyed := ratelimit.NewKeyed(10, 1, perUser, name, wait, ratelimit.WithMaxKeys(1000))
	window := ratelimit.NewSlidingWindow(6000, time.Minute, name)
	fmt.Println(bucket.Snapshot().Burst, keyed.Snapshot().Burst, window.Snapshot().N)
	// Output: 10 1 6000
}
