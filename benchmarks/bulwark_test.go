package benchmarks

import (
	"context"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/fallback"
	"github.com/bulwark-go/bulwark/timeout"
)

func recovered(context.Context, error) error { return nil }

func bulwarkPipeline(n int) runner {
	ps := make([]bulwark.Policy, n)
	for i := range ps {
		ps[i] = fallback.New(recovered)
	}
	return bulwark.New(ps...).Execute
}

func bulwarkTimeout(d time.Duration) runner { return timeout.New(d).Execute }

func bulwarkFallback() runner { return fallback.New(recovered).Execute }
