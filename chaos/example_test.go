package chaos_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/chaos"
	"github.com/bulwark-go/bulwark/retry"
)

func Example() {
	errUnavailable := errors.New("inventory unavailable")
	c := chaos.New(chaos.WithSeed(6), chaos.WithError(0.3, errUnavailable))
	c.SetEnabled(true)
	for range 10 {
		err := c.Execute(context.Background(), func(ctx context.Context) error { return nil })
		if err != nil {
			fmt.Print("E")
		} else {
			fmt.Print(".")
		}
	}
	fmt.Println()
	fmt.Println(c.Snapshot().Errors, "errors injected")
	// Output:
	// ..E.E..E..
	// 3 errors injected
}

// A retry proves that it gets past injected failures: the Chaos,
// innermost, plays a dependency that fails one call in two.
func Example_retry() {
	c := chaos.New(chaos.WithSeed(7), chaos.WithError(0.5, errors.New("flaky")))
	p := bulwark.New(retry.New(retry.WithMaxAttempts(5), retry.WithDelay(time.Millisecond)), c)
	err := p.Execute(chaos.Enable(context.Background()), func(ctx context.Context) error { return nil })
	fmt.Println(err, c.Snapshot().Errors, "injected before the call got through")
	// Output: <nil> 2 injected before the call got through
}

func ExampleEnable() {
	c := chaos.New(chaos.WithError(1, errors.New("injected")))
	call := func(ctx context.Context) error { return nil }
	fmt.Println(c.Execute(context.Background(), call))
	fmt.Println(c.Execute(chaos.Enable(context.Background()), call))
	// Output:
	// <nil>
	// injected
}

func ExampleWithLatency() {
	c := chaos.New(chaos.WithLatency(1, time.Hour, 0))
	ctx, cancel := context.WithTimeout(chaos.Enable(context.Background()), 10*time.Millisecond)
	defer cancel()
	err := c.Execute(ctx, func(ctx context.Context) error { return nil })
	fmt.Println(err)
	// Output: context deadline exceeded
}

// A request carries chaos to every service it reaches in its OpenTelemetry
// baggage; each service's Chaos honours it with WithEnabled.
func ExampleEnableBaggage() {
	ctx := chaos.EnableBaggage(context.Background()) // in the client, or a test's first hop
	// ... propagated by propagation.Baggage (otelhttp, otelgrpc) ...
	c := chaos.New(chaos.WithError(1, errors.New("injected")), chaos.WithEnabled(chaos.BaggageEnabled))
	fmt.Println(chaos.BaggageEnabled(ctx), c.Execute(ctx, func(ctx context.Context) error { return nil }))
	// Output: true injected
}
