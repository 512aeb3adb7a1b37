// Command httpload is the target of load.sh: an HTTP server on loopback
// whose handler writes 200 "ok", bare or wrapped in bulwarkhttp's
// middleware with a breaker and a rate limiter that admit everything (the
// policies of the middleware benchmark). It prints its address on standard
// output and serves until standard input is closed or it is signalled.
//
//	httpload -mode wrapped
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/middleware/bulwarkhttp"
	"github.com/bulwark-go/bulwark/ratelimit"
)

func main() {
	mode := flag.String("mode", "bare", "bare, or wrapped in bulwarkhttp.Middleware")
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	flag.Parse()
	if err := run(*mode, *addr, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "httpload:", err)
		os.Exit(1)
	}
}

var ok = []byte("ok")

func handler(mode string) (http.Handler, error) {
	h := http.Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write(ok) //nolint:errcheck
	}))
	switch mode {
	case "bare":
		return h, nil
	case "wrapped":
		p := bulwark.New(breaker.New(), ratelimit.New(1e12, 1<<30))
		return bulwarkhttp.Middleware(p)(h), nil
	}
	return nil, fmt.Errorf("mode must be bare or wrapped, got %q", mode)
}

func run(mode, addr string, stop io.Reader, out io.Writer) error {
	h, err := handler(mode)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h}
	fmt.Fprintf(out, "http://%s/\n", ln.Addr())

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	go func() {
		io.Copy(io.Discard, stop) //nolint:errcheck // returns when stdin closes
		cancel()
	}()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
