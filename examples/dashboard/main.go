// Command dashboard runs a small service with a flaky dependency and
// serves bulwark's dashboard of it on 127.0.0.1. Every few seconds the
// inventory dependency goes down for a while: watch its breaker open,
// probe and close, the retries give up, the fallback answer for pricing,
// the rate limiter in front of it all.
//
//	go run ./examples/dashboard -duration 10m
//
// then open the address it prints. With no flags it runs for 3 seconds
// and exits. The dashboard's controls are on: on a real service, mount
// them only behind authentication (see package operate).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/chaos"
	"github.com/bulwark-go/bulwark/fallback"
	"github.com/bulwark-go/bulwark/operate"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/timeout"
)

func main() {
	duration := flag.Duration("duration", 3*time.Second, "how long to run; 0 runs until interrupted")
	addr := flag.String("addr", "127.0.0.1:0", "address of the dashboard")
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

// errUnavailable is what a dependency that is down answers.
var errUnavailable = errors.New("dependency unavailable")

// dependency is a remote call that takes about latency, and fails while
// its outage, a chaos fault injecting errUnavailable into every call, is
// switched on.
type dependency struct {
	latency time.Duration
	outage  *chaos.Chaos
}

func newDependency(name string, latency time.Duration) *dependency {
	return &dependency{latency: latency, outage: chaos.New(chaos.WithName(name), chaos.WithError(1, errUnavailable))}
}

// setDown switches the outage on or off.
func (d *dependency) setDown(down bool) { d.outage.SetEnabled(down) }

func (d *dependency) call(ctx context.Context) error { return d.outage.Execute(ctx, d.respond) }

func (d *dependency) respond(ctx context.Context) error {
	wait := d.latency/2 + rand.N(d.latency)
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
	}
	return nil
}

// system is the service: its dependencies, the pipelines in front of them,
// and the registry the dashboard reads.
type system struct {
	inventory, pricing *dependency
	api                *ratelimit.Limiter
	checkout, quote    *bulwark.Pipeline
	reg                *operate.Registry
}

func newSystem() (*system, error) {
	s := &system{
		inventory: newDependency("inventory-outage", 8*time.Millisecond),
		pricing:   newDependency("pricing-outage", 4*time.Millisecond),
		api:       ratelimit.New(150, 20, ratelimit.WithName("api")),
		reg:       operate.NewRegistry(),
	}
	s.checkout = bulwark.New(
		// A caller waits 250ms at most: an open breaker's hint, seconds away, is
		// not waited for.
		retry.New(retry.WithMaxAttempts(3), retry.WithDelay(10*time.Millisecond), retry.WithMaxDuration(250*time.Millisecond)),
		breaker.New(breaker.WithName("inventory"), breaker.WithConsecutiveFailures(5), breaker.WithOpenDuration(2*time.Second)),
		bulkhead.New(8),
		timeout.New(100*time.Millisecond),
	).With(bulwark.WithName("checkout"), bulwark.WithCallDuration())
	s.quote = bulwark.New(
		fallback.New(func(context.Context, error) error { return nil }, fallback.WithName("list-price")),
		breaker.New(breaker.WithName("pricing")),
		timeout.New(50*time.Millisecond),
	).With(bulwark.WithName("quote"), bulwark.WithCallDuration())
	for _, r := range []struct {
		name string
		p    bulwark.Policy
		opts []operate.RegisterOption
	}{
		{"checkout", s.checkout, []operate.RegisterOption{operate.Critical()}},
		{"quote", s.quote, nil},
		{"api", s.api, nil},
	} {
		if err := s.reg.Register(r.name, r.p, r.opts...); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// request is one request to the service: past the rate limiter, it checks
// the stock and quotes a price.
func (s *system) request(ctx context.Context) error {
	return s.api.Execute(ctx, func(ctx context.Context) error {
		if err := s.checkout.Execute(ctx, s.inventory.call); err != nil {
			return err
		}
		return s.quote.Execute(ctx, s.pricing.call)
	})
}

// load sends requests from workers goroutines, each pausing every between
// requests, until ctx ends; it returns the requests that succeeded and
// failed.
func (s *system) load(ctx context.Context, workers int, every time.Duration) (ok, failed int64) {
	var okN, failN atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				if s.request(ctx) == nil {
					okN.Add(1)
				} else if ctx.Err() == nil {
					failN.Add(1)
				}
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		})
	}
	wg.Wait()
	return okN.Load(), failN.Load()
}

// outages takes the inventory down for downFor at the start of each
// period, after a first healthy stretch, until ctx ends.
func (s *system) outages(ctx context.Context, first, period, downFor time.Duration) {
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.inventory.setDown(false)
			return
		case <-t.C:
		}
		down := !s.inventory.outage.Enabled()
		s.inventory.setDown(down)
		if down {
			t.Reset(downFor)
		} else {
			t.Reset(period - downFor)
		}
	}
}

// serve serves h on addr until ctx ends; the requests' contexts end with
// it, so that the dashboard's event streams do too.
func serve(ctx context.Context, addr string, h http.Handler) (url string, wait func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, BaseContext: func(net.Listener) context.Context { return ctx },
		ReadHeaderTimeout: 5 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.Serve(ln) }) // returns when shut down
	wg.Go(func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	})
	return "http://" + ln.Addr().String(), wg.Wait, nil
}

// mux mounts the dashboard under /debug/bulwark/.
func (s *system) mux() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/debug/bulwark/", http.StripPrefix("/debug/bulwark", operate.Handler(s.reg, operate.WithControls())))
	return mux
}

func run(ctx context.Context, addr string, out io.Writer) error {
	s, err := newSystem()
	if err != nil {
		return err
	}
	url, wait, err := serve(ctx, addr, s.mux())
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "dashboard: %s/debug/bulwark/\n", url)
	var outages sync.WaitGroup
	outages.Go(func() { s.outages(ctx, 500*time.Millisecond, 8*time.Second, 1500*time.Millisecond) })
	ok, failed := s.load(ctx, 4, 25*time.Millisecond)
	outages.Wait()
	wait()
	fmt.Fprintf(out, "requests: %d succeeded, %d failed\n", ok, failed)
	return nil
}
