// Command quickstart calls a flaky HTTP service through a bulwark pipeline
// and prints what each policy did. It starts the service itself on
// 127.0.0.1 and exits when done.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/fallback"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/timeout"
)

// priceService answers with a price, except that every third request hangs
// and every fourth fails with 503; while down is set, it fails them all.
type priceService struct {
	n    atomic.Int64
	down atomic.Bool
}

func (s *priceService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i := s.n.Add(1)
	switch {
	case s.down.Load() || i%4 == 0:
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	case i%3 == 0:
		select { // hang until the client gives up
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	default:
		fmt.Fprint(w, "12.50")
	}
}

// fetchPrice calls the service. A status that is not 200 becomes an error,
// so that every policy sees one vocabulary.
func fetchPrice(ctx context.Context, client *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("price service: %s", resp.Status)
	}
	return string(body), nil
}

// describe turns an event into a line of the account.
func describe(e bulwark.Event) string {
	switch e.Type {
	case bulwark.EventTimeout:
		return fmt.Sprintf("timeout fired after %v", e.Delay)
	case bulwark.EventFallback:
		return "fallback served the cached price"
	case bulwark.EventStateChange:
		return fmt.Sprintf("breaker %s -> %s (%s)", e.From, e.To, e.Reason)
	case bulwark.EventRejected:
		d, _ := bulwark.RetryAfter(e.Err)
		return fmt.Sprintf("breaker rejected the call (probing in %v)", d.Round(10*time.Millisecond))
	case bulwark.EventRetry:
		return fmt.Sprintf("retry %d", e.Attempt)
	case bulwark.EventExhausted:
		return fmt.Sprintf("retry gave up (%s)", e.Reason)
	}
	return fmt.Sprintf("%s: %v", e.Type, e.Err)
}

func main() {
	if err := run(os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(out io.Writer) error {
	svc := &priceService{}
	srv := httptest.NewServer(svc) // listens on 127.0.0.1
	defer srv.Close()
	client := srv.Client()

	// What the policies reported since the last line was printed. Events
	// come from the calls and from the breaker's timer, so under a lock.
	var mu sync.Mutex
	var account []string
	halfOpen := make(chan struct{}, 1)
	note := func(_ context.Context, e bulwark.Event) {
		mu.Lock()
		defer mu.Unlock()
		account = append(account, describe(e))
		if e.Type == bulwark.EventStateChange && e.To == breaker.HalfOpen.String() {
			select {
			case halfOpen <- struct{}{}:
			default:
			}
		}
	}

	const cached = "12.00 (cached)"
	var price string
	pipeline := bulwark.New(
		fallback.New(func(ctx context.Context, err error) error {
			price = cached // serve the last known price instead of an error
			return nil
		}),
		retry.New(
			retry.WithMaxAttempts(3),
			retry.WithDelay(20*time.Millisecond),
			// Retrying into an open breaker only waits for it: let the
			// fallback answer at once instead.
			retry.WithRetryIf(func(err error) bool { return !errors.Is(err, breaker.ErrOpen) }),
		),
		breaker.New(breaker.WithConsecutiveFailures(3), breaker.WithOpenDuration(300*time.Millisecond)),
		timeout.New(200*time.Millisecond), // per attempt
	).With(bulwark.WithName("prices"), bulwark.WithObserver(note))

	call := func(label string) error {
		price = ""
		start := time.Now()
		err := pipeline.Execute(context.Background(), func(ctx context.Context) error {
			var err error
			price, err = fetchPrice(ctx, client, srv.URL)
			return err
		})
		if err != nil {
			return fmt.Errorf("%s: the fallback should have answered: %w", label, err)
		}
		mu.Lock()
		how := "answered by the service"
		if len(account) > 0 {
			how = strings.Join(account, "; ")
		}
		account = account[:0]
		mu.Unlock()
		fmt.Fprintf(out, "%-10s price %-15s in %4dms  %s\n", label, price, time.Since(start).Milliseconds(), how)
		return nil
	}

	fmt.Fprintln(out, "A price service that hangs every 3rd request and fails every 4th, called through")
	fmt.Fprintln(out, "fallback (serve a cached price), retry (3 attempts, 20ms apart), breaker (open after")
	fmt.Fprintln(out, "3 failed attempts in a row, for 300ms) and timeout (200ms per attempt):")
	fmt.Fprintln(out)
	for i := 1; i <= 8; i++ {
		if err := call(fmt.Sprintf("request %d", i)); err != nil {
			return err
		}
	}

	fmt.Fprintln(out)
	fmt.Fprintln(out, "The service goes down:")
	svc.down.Store(true)
	for i := 9; i <= 11; i++ {
		if err := call(fmt.Sprintf("request %d", i)); err != nil {
			return err
		}
	}

	fmt.Fprintln(out)
	fmt.Fprintln(out, "The service recovers; once the open time is over, a probe gets through:")
	svc.down.Store(false)
	svc.n.Store(0)
	select { // the breaker's timer reports when the open time is over
	case <-halfOpen:
	case <-time.After(5 * time.Second):
		return fmt.Errorf("the breaker did not become half-open")
	}
	for i := 12; i <= 13; i++ {
		if err := call(fmt.Sprintf("request %d", i)); err != nil {
			return err
		}
	}
	fmt.Fprintln(out)
	fmt.Fprintln(out, "Every call returned a price: the timeout cut hanging requests short, retries got")
	fmt.Fprintln(out, "past passing failures, the breaker stopped calling a service that was down and let")
	fmt.Fprintln(out, "a probe through once it was back, and the fallback answered when nothing else could.")
	return nil
}
