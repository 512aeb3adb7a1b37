// Command httpclient calls two flaky upstreams through bulwarkhttp's
// Transport and prints what happened to each request. It starts the
// upstreams itself on 127.0.0.1 and exits when done, in a few seconds.
//
//	go run ./examples/httpclient
//
// The client retries what may be repeated (idempotent requests, on
// transport errors and 429/502/503/504, honouring Retry-After), keeps a
// breaker per host so that the upstream that is down does not open the
// breaker for the one that is up, bounds each attempt, and hands back the
// last response when retries end on a status.
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/middleware/bulwarkhttp"
	"github.com/bulwark-go/bulwark/retry"
)

func main() {
	if err := run(os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// inventory answers by script: the nth request to each path gets the nth
// step, then 200.
type inventory struct {
	mu    sync.Mutex
	seen  map[string]int
	steps map[string][]func(w http.ResponseWriter, r *http.Request)
}

func (s *inventory) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body) //nolint:errcheck
	s.mu.Lock()
	n := s.seen[r.URL.Path]
	s.seen[r.URL.Path]++
	s.mu.Unlock()
	if steps := s.steps[r.URL.Path]; n < len(steps) {
		steps[n](w, r)
		return
	}
	fmt.Fprintf(w, "%s: in stock", r.URL.Path)
}

func status(code int, header ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		fmt.Fprintln(w, http.StatusText(code))
	}
}

func hang(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done(): // the client gave up on this attempt
	case <-time.After(5 * time.Second):
	}
}

// serve starts h on 127.0.0.1 and returns its base URL and a stop func.
func serve(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln) //nolint:errcheck // returns when closed
	}()
	return "http://" + ln.Addr().String(), func() { srv.Close(); <-done }, nil
}

func run(out io.Writer) error {
	inv := &inventory{seen: map[string]int{}, steps: map[string][]func(http.ResponseWriter, *http.Request){
		"/items/busy":    {status(503, "Retry-After", "1")},
		"/items/slow":    {hang},
		"/items/flaky":   {status(502), status(504)},
		"/items/broken":  {status(500)},
		"/items/reserve": {status(503)},
		"/items/gone":    {status(503), status(503), status(503)},
	}}
	invURL, stopInv, err := serve(inv)
	if err != nil {
		return err
	}
	defer stopInv()
	var pricingHits atomic.Int32
	pricingURL, stopPricing, err := serve(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		pricingHits.Add(1)
		http.Error(w, "bad gateway", http.StatusBadGateway) // down for good
	}))
	if err != nil {
		return err
	}
	defer stopPricing()

	// What the policies did, request by request.
	var mu sync.Mutex
	var notes []string
	note := func(_ context.Context, e bulwark.Event) {
		mu.Lock()
		defer mu.Unlock()
		switch e.Type {
		case bulwark.EventRetry:
			notes = append(notes, fmt.Sprintf("retry %d after %v", e.Attempt, e.Delay.Round(time.Millisecond)))
		case bulwark.EventExhausted:
			notes = append(notes, "gave up ("+e.Reason+")")
		case bulwark.EventStateChange:
			notes = append(notes, "breaker "+e.From+" -> "+e.To)
		}
	}
	takeNotes := func() string {
		mu.Lock()
		defer mu.Unlock()
		s := strings.Join(notes, "; ")
		notes = nil
		return s
	}

	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: bulwarkhttp.Transport(transport,
		retry.New(retry.WithMaxAttempts(3), retry.WithDelay(50*time.Millisecond), retry.WithObserver(note)),
		bulwarkhttp.WithHostPolicy(100, func(string) bulwark.Policy {
			return breaker.New(breaker.WithConsecutiveFailures(5), breaker.WithOpenDuration(time.Minute), breaker.WithObserver(note))
		}),
		bulwarkhttp.WithAttemptTimeout(500*time.Millisecond),
		bulwarkhttp.WithTotalTimeout(3*time.Second),
	)}

	do := func(method, url string) {
		req, err := http.NewRequest(method, url, strings.NewReader(""))
		if err != nil {
			fmt.Fprintln(out, err)
			return
		}
		if method == http.MethodPost {
			req.GetBody = nil // a body that cannot be replayed: sent once
		}
		name := method + " " + strings.TrimPrefix(strings.TrimPrefix(url, invURL), pricingURL)
		if strings.HasPrefix(url, pricingURL) {
			name = method + " pricing" + strings.TrimPrefix(url, pricingURL)
		}
		start := time.Now()
		resp, err := client.Do(req)
		took := time.Since(start).Round(100 * time.Millisecond)
		result := ""
		if err != nil {
			result = "error: " + shortError(err)
		} else {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			result = fmt.Sprintf("%d %q", resp.StatusCode, strings.TrimSpace(string(body)))
		}
		if n := takeNotes(); n != "" {
			result += " [" + n + "]"
		}
		fmt.Fprintf(out, "%-24s -> %s in ~%v\n", name, result, took)
	}

	do("GET", invURL+"/items/ok")       // answered at once
	do("GET", invURL+"/items/busy")     // 503 with Retry-After: 1, then the answer
	do("GET", invURL+"/items/slow")     // the first attempt hangs past its 500ms
	do("GET", invURL+"/items/flaky")    // 502, 504, then the answer
	do("GET", invURL+"/items/broken")   // a 500 is not retried: the caller gets it
	do("POST", invURL+"/items/reserve") // a POST is sent once
	do("GET", invURL+"/items/ok")
	do("GET", invURL+"/items/gone") // three 503s: the last one comes back
	for range 3 {
		do("GET", pricingURL+"/prices/1") // down: five failures open its breaker
	}
	do("GET", invURL+"/items/ok") // the other host's breaker is still closed
	fmt.Fprintf(out, "pricing was sent %d requests; its breaker refused the rest\n", pricingHits.Load())
	return nil
}

// shortError drops the URL that http.Client puts in front.
func shortError(err error) string {
	s := err.Error()
	if i := strings.Index(s, "\": "); i >= 0 {
		return s[i+3:]
	}
	return s
}
