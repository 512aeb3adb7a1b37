// Command httpserver serves HTTP on 127.0.0.1 behind bulwarkhttp's
// Middleware with a rate limit per client IP address, sends it a few
// clients' requests through a proxy of its own, prints what each got, and
// exits, in a few seconds.
//
//	go run ./examples/httpserver
//
// The server trusts the proxy in front of it (127.0.0.1) to say who the
// client is in X-Forwarded-For, and believes nothing else of that header:
// the client's address is its right-most hop that is not the proxy, so a
// client that writes its own X-Forwarded-For cannot choose its key. Each
// client has a token bucket (bursts of 3, one more a second); a request
// over it gets 429 with Retry-After, and every response tells the client
// where it stands in the IETF RateLimit fields.
package main

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/middleware/bulwarkhttp"
	"github.com/bulwark-go/bulwark/ratelimit"
)

func main() {
	if err := run(os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(out io.Writer) error {
	perClient := ratelimit.NewKeyed(1, 3, bulwarkhttp.KeyFromContext, ratelimit.WithMaxKeys(10000))
	mw := bulwarkhttp.Middleware(bulwark.New(breaker.New(), perClient),
		bulwarkhttp.WithKey(bulwarkhttp.ClientIP("127.0.0.1")), // the proxy below
		bulwarkhttp.WithRateLimitHeaders("per-client", perClient))
	mux := http.NewServeMux()
	mux.Handle("GET /hello", mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello, %s", bulwarkhttp.KeyFromContext(r.Context()))
	})))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	url := "http://" + ln.Addr().String() + "/hello"

	// The proxy: it appends the address of the client it serves to
	// X-Forwarded-For, as a load balancer does.
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	proxy := func(client, forged string) string {
		req, _ := http.NewRequest("GET", url, nil)
		hops := client
		if forged != "" {
			hops = forged + ", " + client // what the client sent, then the proxy's hop
		}
		req.Header.Set("X-Forwarded-For", hops)
		resp, err := transport.RoundTrip(req)
		if err != nil {
			return "error: " + err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		s := fmt.Sprintf("%d %-26q RateLimit: %s", resp.StatusCode, strings.TrimSpace(string(body)), resp.Header.Get("RateLimit"))
		if ra := resp.Header.Get("Retry-After"); ra != "" {
			s += "  Retry-After: " + ra
		}
		return s
	}

	alice, bob := "203.0.113.10", "198.51.100.20"
	line := func(who, what string) { fmt.Fprintf(out, "%-22s %s\n", who+":", what) }
	for i := 1; i <= 5; i++ {
		line(fmt.Sprintf("alice #%d", i), proxy(alice, ""))
	}
	line("bob #1", proxy(bob, ""))
	// Alice pretends to be someone else: her own hop is still the key.
	line("alice as 192.0.2.99", proxy(alice, "192.0.2.99"))
	time.Sleep(time.Second) // as Retry-After said
	line("alice, a second later", proxy(alice, ""))

	transport.CloseIdleConnections()
	if err := srv.Close(); err != nil {
		return err
	}
	if err := <-served; err != http.ErrServerClosed {
		return err
	}
	fmt.Fprintf(out, "keys remembered: %d\n", perClient.Len())
	return nil
}
