package bulwarkhttp_test

import (
	"context"
	"net"
	"net/http"
	"sync"
	"testing"
)

// pipeNet is a network of net.Pipe connections: a real net/http server and
// client that run inside a testing/synctest bubble, where a wait on a pipe
// is durably blocking and time is virtual.
type pipeNet struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newPipeNet() *pipeNet {
	return &pipeNet{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (n *pipeNet) Accept() (net.Conn, error) {
	select {
	case c := <-n.conns:
		return c, nil
	case <-n.closed:
		return nil, net.ErrClosed
	}
}

func (n *pipeNet) Close() error {
	n.once.Do(func() { close(n.closed) })
	return nil
}

func (n *pipeNet) Addr() net.Addr { return pipeAddr{} }

func (n *pipeNet) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	srv, cli := net.Pipe()
	select {
	case n.conns <- srv:
		return cli, nil
	case <-n.closed:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "192.0.2.1:1234" }

// pipeServer serves h on a pipe network inside the current bubble and
// returns a transport that reaches it at any host. Both are shut down when
// the test ends.
func pipeServer(t *testing.T, h http.Handler) *http.Transport {
	t.Helper()
	n := newPipeNet()
	srv := &http.Server{Handler: h}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(n) //nolint:errcheck // returns when closed
	}()
	tr := &http.Transport{DialContext: n.dial}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		srv.Close()
		n.Close()
		<-done
	})
	return tr
}
