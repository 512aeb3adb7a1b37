// Command quickstart calls a flaky HTTP service through a bulwark pipeline
// and prints what each policy did. It starts the service itself on
// 127.0.0.1 and exits when done.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/fallback"
	"github.com/bulwark-go/bulwark/timeout"
)

// flakyPrices answers with a price, except that every third request hangs
// and every fourth fails with 503.
func flakyPrices() http.Handler {
	var n atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch i := n.Add(1); {
		case i%3 == 0:
			select { // hang until the client gives up
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		case i%4 == 0:
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
		default:
			fmt.Fprint(w, "12.50")
		}
	})
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

func main() {
	if err := run(os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(out io.Writer) error {
	srv := httptest.NewServer(flakyPrices()) // listens on 127.0.0.1
	defer srv.Close()
	client := srv.Client()

	var account []string // what the policies reported during one call
	note := func(_ context.Context, e bulwark.Event) {
		switch e.Type {
		case bulwark.EventTimeout:
			account = append(account, fmt.Sprintf("timeout fired after %v", e.Delay))
		case bulwark.EventFallback:
			account = append(account, fmt.Sprintf("fallback served the cached price (call failed: %v)", e.Err))
		default:
			account = append(account, fmt.Sprintf("%s: %v", e.Type, e.Err))
		}
	}

	const cached = "12.00 (cached)"
	var price string
	pipeline := bulwark.New(
		fallback.New(func(ctx context.Context, err error) error {
			price = cached // serve the last known price instead of an error
			return nil
		}),
		timeout.New(200*time.Millisecond),
	).With(bulwark.WithName("prices"), bulwark.WithObserver(note))

	fmt.Fprintln(out, "Calling a price service that hangs every 3rd request and fails every 4th,")
	fmt.Fprintln(out, "through a pipeline of fallback (serve a cached price) and timeout (200ms):")
	fmt.Fprintln(out)
	for i := 1; i <= 8; i++ {
		account, price = account[:0], ""
		start := time.Now()
		err := pipeline.Execute(context.Background(), func(ctx context.Context) error {
			var err error
			price, err = fetchPrice(ctx, client, srv.URL)
			return err
		})
		if err != nil {
			return fmt.Errorf("request %d: the fallback should have answered: %w", i, err)
		}
		how := "answered by the service"
		if len(account) > 0 {
			how = strings.Join(account, "; ")
		}
		fmt.Fprintf(out, "request %d: price %-15s in %4dms  %s\n", i, price, time.Since(start).Milliseconds(), how)
	}
	fmt.Fprintln(out)
	fmt.Fprintln(out, "Every call returned a price: the timeout cut the hanging requests short,")
	fmt.Fprintln(out, "and the fallback turned each failure into the cached answer.")
	return nil
}
