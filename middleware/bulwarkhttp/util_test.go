package bulwarkhttp_test

import (
	"context"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// recorder is a policy that runs the call once and keeps its outcome: the
// error it returned, or the value it panicked with (raised again).
type recorder struct {
	mu     sync.Mutex
	errs   []error
	panics []any
}

func (r *recorder) Execute(ctx context.Context, fn func(context.Context) error) error {
	done := false
	defer func() {
		if !done {
			v := recover()
			r.mu.Lock()
			r.panics = append(r.panics, v)
			r.mu.Unlock()
			panic(v)
		}
	}()
	err := fn(ctx)
	done = true
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
	return err
}

func (r *recorder) outcomes() ([]error, []any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...), append([]any(nil), r.panics...)
}

// get sends a GET to url with c and returns the status and body.
func get(t *testing.T, c *http.Client, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := c.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b), resp.Header
}

// status is a handler that writes code and body.
func status(code int, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(code)
		io.WriteString(w, body) //nolint:errcheck // test handler
	})
}
