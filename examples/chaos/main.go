// Command chaos proves a pipeline under injected faults: a price lookup
// behind timeout, retry, breaker and fallback, with a Chaos innermost that
// fails 30% of the attempts and holds 10% of them for a second or so. It
// prints what each policy did to each call and checks that every call was
// answered before its deadline.
//
//	go run ./examples/chaos
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/chaos"
	"github.com/bulwark-go/bulwark/fallback"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/timeout"
)

const (
	calls      = 40
	interval   = 20 * time.Millisecond  // between the starts of two calls
	deadline   = 300 * time.Millisecond // the caller's, on every call
	budget     = 250 * time.Millisecond // the pipeline's total, inside the caller's
	perAttempt = 50 * time.Millisecond
	cached     = "12.00 (cached)"
)

var errUnavailable = errors.New("price service unavailable")

// lookupPrice is the dependency: it answers in 2ms, or as soon as its
// context ends.
func lookupPrice(ctx context.Context) (string, error) {
	t := time.NewTimer(2 * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
		return "12.50", nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// describe turns an event into a few words of the account.
func describe(e bulwark.Event) string {
	switch {
	case e.Type == chaos.EventInjected && e.Reason == "latency":
		return fmt.Sprintf("chaos: %v delay", e.Delay.Round(time.Millisecond))
	case e.Type == chaos.EventInjected:
		return "chaos: " + e.Reason
	case e.Type == bulwark.EventTimeout:
		return fmt.Sprintf("%s timeout after %v", e.Name, e.Delay)
	case e.Type == bulwark.EventRetry:
		return fmt.Sprintf("retry %d", e.Attempt)
	case e.Type == bulwark.EventExhausted:
		return "retry gave up (" + e.Reason + ")"
	case e.Type == bulwark.EventStateChange:
		return fmt.Sprintf("breaker %s -> %s", e.From, e.To)
	case e.Type == bulwark.EventRejected:
		return "breaker rejected"
	case e.Type == bulwark.EventFallback:
		return "fallback"
	}
	return e.Type.String()
}

func main() {
	if err := run(os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(out io.Writer) error {
	// Events come from the calls and from the breaker's timer: under a lock.
	var mu sync.Mutex
	var account []string
	note := func(_ context.Context, e bulwark.Event) {
		mu.Lock()
		account = append(account, describe(e))
		mu.Unlock()
	}

	faults := chaos.New(
		chaos.WithSeed(2024), // the same faults on every run
		chaos.WithError(0.3, errUnavailable),
		chaos.WithLatency(0.1, time.Second, 200*time.Millisecond),
	)
	faults.SetEnabled(true)
	brk := breaker.New(breaker.WithConsecutiveFailures(3), breaker.WithOpenDuration(100*time.Millisecond))
	rty := retry.New(
		retry.WithMaxAttempts(3),
		retry.WithDelay(10*time.Millisecond),
		// Retrying into an open breaker only waits for it: the fallback
		// answers at once instead.
		retry.WithRetryIf(func(err error) bool { return !errors.Is(err, breaker.ErrOpen) }),
	)
	fb := fallback.New(func(ctx context.Context, err error) error {
		bulwark.Supply(ctx, cached)
		return nil
	})
	pipeline := bulwark.New(
		fb,
		timeout.New(budget, timeout.WithName("total")),
		rty,
		brk,
		timeout.New(perAttempt, timeout.WithName("attempt")),
		faults, // innermost: it plays the dependency
	).With(bulwark.WithName("prices"), bulwark.WithObserver(note))

	fmt.Fprintf(out, "%d price lookups, one every %v at most, each with a %v deadline, through fallback,\n", calls, interval, deadline)
	fmt.Fprintf(out, "timeout (%v in all), ", budget)
	fmt.Fprintf(out, "retry (3 attempts, 10ms apart), breaker (open after 3 failures in a\n")
	fmt.Fprintf(out, "row, for 100ms), timeout (%v an attempt) and chaos (30%% errors, 10%% of attempts\n", perAttempt)
	fmt.Fprintf(out, "held 1s ± 200ms):\n\n")

	var slowest time.Duration
	served, fellBack := 0, 0
	next := time.Now()
	for i := 1; i <= calls; i++ {
		time.Sleep(time.Until(next))
		next = next.Add(interval)
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		start := time.Now()
		price, err := bulwark.Get(ctx, pipeline, lookupPrice)
		took := time.Since(start)
		late := ctx.Err() // the deadline passed before the answer came
		cancel()
		if err != nil {
			return fmt.Errorf("call %d: no answer: %w", i, err)
		}
		if late != nil {
			return fmt.Errorf("call %d: answered after its deadline, in %v", i, took)
		}
		slowest = max(slowest, took)
		if price == cached {
			fellBack++
		} else {
			served++
		}
		mu.Lock()
		how := "untouched"
		if len(account) > 0 {
			how = strings.Join(account, "; ")
		}
		account = account[:0]
		mu.Unlock()
		fmt.Fprintf(out, "call %2d  %-15s %4dms  %s\n", i, price, took.Milliseconds(), how)
	}

	f, b, r := faults.Snapshot(), brk.Status(), rty.Status()
	fmt.Fprintln(out)
	fmt.Fprintf(out, "Every call was answered before its %v deadline (the slowest in %dms): %d by the\n", deadline, slowest.Milliseconds(), served)
	fmt.Fprintf(out, "service, %d by the fallback. Chaos injected %d errors and %d delays; retry made %d\n", fellBack, f.Errors, f.Latencies, r.Retries)
	fmt.Fprintf(out, "extra attempts; the breaker counted %d failures and rejected %d attempts.\n", b.Failures, b.Rejected)
	return nil
}
