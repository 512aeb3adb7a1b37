// Command prometheus serves bulwark's metrics to Prometheus, through the
// OpenTelemetry Prometheus exporter, beside the dashboard: /metrics for
// the scraper, /debug/bulwark/ for people. It runs a checkout pipeline
// against a payment dependency that is down for its first second, on
// 127.0.0.1, then prints the bulwark series of its own /metrics and
// exits.
//
//	go run ./examples/prometheus -duration 10m
//
// keeps it up for ten minutes; with no flags it runs for 3 seconds.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/operate"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

func main() {
	duration := flag.Duration("duration", 3*time.Second, "how long to run; 0 runs until interrupted")
	addr := flag.String("addr", "127.0.0.1:0", "address of /metrics and the dashboard")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	if err := run(ctx, *addr, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

var errDeclined = errors.New("payment provider unavailable")

// service is the checkout pipeline, its payment dependency, and what
// exports them.
type service struct {
	down     atomic.Bool // the payment provider is down
	payments *breaker.Breaker
	checkout *bulwark.Pipeline
	metrics  *prometheus.Registry
	provider *sdkmetric.MeterProvider
	ops      *operate.Registry
}

// newService builds the service, its policies reporting through an
// OpenTelemetry meter provider whose reader is the Prometheus exporter.
func newService() (*service, error) {
	s := &service{metrics: prometheus.NewRegistry(), ops: operate.NewRegistry()}
	exporter, err := otelprom.New(otelprom.WithRegisterer(s.metrics))
	if err != nil {
		return nil, err
	}
	s.provider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	s.payments = breaker.New(breaker.WithName("payments"), breaker.WithMeterProvider(s.provider),
		breaker.WithConsecutiveFailures(3), breaker.WithOpenDuration(500*time.Millisecond))
	s.checkout = bulwark.New(
		retry.New(retry.WithName("checkout"), retry.WithMaxAttempts(2), retry.WithDelay(5*time.Millisecond), retry.WithMeterProvider(s.provider)),
		s.payments,
	).With(bulwark.WithName("checkout"), bulwark.WithMeterProvider(s.provider), bulwark.WithCallDuration())
	if err := s.ops.Register("checkout", s.checkout, operate.Critical()); err != nil {
		return nil, err
	}
	return s, nil
}

// pay is the payment dependency.
func (s *service) pay(ctx context.Context) error {
	if s.down.Load() {
		return errDeclined
	}
	return ctx.Err()
}

// mux serves /metrics and the dashboard.
func (s *service) mux() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(s.metrics, promhttp.HandlerOpts{}))
	mux.Handle("/debug/bulwark/", http.StripPrefix("/debug/bulwark", operate.Handler(s.ops)))
	return mux
}

// load checks out every few milliseconds until ctx ends.
func (s *service) load(ctx context.Context) {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		_ = s.checkout.Execute(ctx, s.pay)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// bulwarkSeries returns the sample lines of the bulwark_ series that url
// serves.
func bulwarkSeries(ctx context.Context, url string) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, res.Status)
	}
	var lines []string
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "bulwark_") {
			lines = append(lines, sc.Text())
		}
	}
	return lines, sc.Err()
}

func run(ctx context.Context, addr string, out io.Writer) error {
	s, err := newService()
	if err != nil {
		return err
	}
	defer s.provider.Shutdown(context.Background()) //nolint:errcheck // nothing left to flush: the exporter is pulled

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s.mux(), BaseContext: func(net.Listener) context.Context { return ctx },
		ReadHeaderTimeout: 5 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.Serve(ln) })
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "metrics:   %s/metrics\ndashboard: %s/debug/bulwark/\n", base, base)

	// The provider is down for the first second: the breaker opens, then
	// closes once it is back.
	s.down.Store(true)
	recovered := time.AfterFunc(time.Second, func() { s.down.Store(false) })
	defer recovered.Stop()
	s.load(ctx)

	scrape, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	lines, err := bulwarkSeries(scrape, base+"/metrics")
	_ = srv.Shutdown(scrape)
	wg.Wait()
	if err != nil {
		return err
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "bulwark_breaker_state{") || strings.HasPrefix(l, "bulwark_events_total{") {
			fmt.Fprintln(out, l)
		}
	}
	return nil
}
