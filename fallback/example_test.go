package fallback_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/fallback"
)

func Example() {
	greeting := ""
	f := fallback.New(func(ctx context.Context, err error) error {
		greeting = "hello, stranger" // the default when the profile is unavailable
		return nil
	})
	err := f.Execute(context.Background(), func(ctx context.Context) error {
		return errors.New("profile service unavailable")
	})
	fmt.Println(greeting, err)
	// Output: hello, stranger <nil>
}

func ExampleWithHandleIf() {
	f := fallback.New(func(ctx context.Context, err error) error { return nil },
		fallback.WithHandleIf(func(err error) bool { return errors.Is(err, bulwark.ErrRejected) }))
	err := f.Execute(context.Background(), func(ctx context.Context) error {
		return errors.New("bad request")
	})
	fmt.Println(err)
	// Output: bad request
}

func ExampleWithRecover() {
	f := fallback.New(func(ctx context.Context, err error) error {
		var pe *fallback.PanicError
		if errors.As(err, &pe) {
			fmt.Println("recovered:", pe.Value)
		}
		return nil
	}, fallback.WithRecover())
	err := f.Execute(context.Background(), func(ctx context.Context) error {
		panic("config not loaded") // a bug in the protected call
	})
	fmt.Println(err)
	// Output:
	// recovered: config not loaded
	// <nil>
}

// Under bulwark.Get, the fallback supplies the value the caller receives.
func Example_get() {
	type profile struct{ Name string }
	p := bulwark.New(fallback.New(func(ctx context.Context, err error) error {
		bulwark.Supply(ctx, profile{Name: "stranger"}) // the cached or default answer
		return nil
	}))
	v, err := bulwark.Get(context.Background(), p, func(ctx context.Context) (profile, error) {
		return profile{}, errors.New("profile service unavailable")
	})
	fmt.Println(v.Name, err)
	// Output: stranger <nil>
}
