package bulwark_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/fallback"
	"github.com/bulwark-go/bulwark/timeout"
)

func ExampleNew() {
	var price string
	p := bulwark.New(
		fallback.New(func(ctx context.Context, err error) error {
			price = "cached: 9.99"
			return nil
		}),
		timeout.New(50*time.Millisecond),
	)
	err := p.Execute(context.Background(), func(ctx context.Context) error {
		return errors.New("pricing service unavailable")
	})
	fmt.Println(price, err)
	// Output: cached: 9.99 <nil>
}

func ExampleGet() {
	p := bulwark.New(timeout.New(time.Second))
	n, err := bulwark.Get(context.Background(), p, func(ctx context.Context) (int, error) {
		return 42, nil
	})
	fmt.Println(n, err)
	// Output: 42 <nil>
}

func ExamplePipeline_With() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	p := bulwark.New(
		fallback.New(func(context.Context, error) error { return nil }, fallback.WithName("defaults")),
	).With(bulwark.WithName("checkout"), bulwark.WithObserver(bulwark.SlogObserver(logger, slog.LevelInfo)))

	_ = p.Execute(context.Background(), func(context.Context) error { return errors.New("no stock") })
	// Output: level=INFO msg=bulwark.fallback bulwark.policy=fallback bulwark.event=fallback bulwark.policy.name=defaults bulwark.pipeline=checkout bulwark.error="no stock"
}

func ExamplePermanent() {
	err := bulwark.Permanent(fmt.Errorf("invalid order id %q", "x"))
	fmt.Println(bulwark.IsPermanent(fmt.Errorf("checkout: %w", err)))
	// Output: true
}

func ExampleRetryAfter() {
	err := bulwark.WithRetryAfter(errors.New("503 from inventory"), 2*time.Second)
	d, ok := bulwark.RetryAfter(fmt.Errorf("inventory: %w", err))
	fmt.Println(d, ok)
	// Output: 2s true
}
