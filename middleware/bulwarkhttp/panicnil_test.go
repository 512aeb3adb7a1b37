package bulwarkhttp_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/bulwark-go/bulwark/middleware/bulwarkhttp"
	"github.com/stretchr/testify/assert"
)

// serveOn runs h.ServeHTTP on a goroutine of its own and says how it
// ended.
func serveOn(h http.Handler, w http.ResponseWriter) testutil.Ending {
	return testutil.EndOf(func() error {
		h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		return nil
	})
}

// Under GODEBUG=panicnil=1 (a program that asks for Go's behaviour before
// 1.21) recover returns nil for panic(nil), as it does during a
// runtime.Goexit. The middleware still sees a panic, never a handler that
// returned without a word (a 200): the policies see it (the breaker counts
// a failure, the bulkhead has its permit back) and net/http gets it.
func TestMiddlewarePanicNilUnderGODEBUGPanicnil(t *testing.T) {
	testutil.SetPanicnil(t)

	rec := &recorder{}
	bh := bulkhead.New(1)
	b := breaker.New(breaker.WithConsecutiveFailures(1), breaker.WithOpenDuration(time.Hour))
	h := bulwarkhttp.Middleware(bulwark.New(rec, b, bh))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic(nil)
	}))
	w := httptest.NewRecorder()
	assert.Equal(t, testutil.Ending{Panicked: true}, serveOn(h, w), "panic(nil) reaches net/http as panic(nil)")
	assert.False(t, w.Flushed)
	assert.Empty(t, w.Header(), "no answer was written")
	errs, panics := rec.outcomes()
	assert.Empty(t, errs, "the policy saw no return")
	assert.Equal(t, []any{nil}, panics, "the policy saw the panic")
	assert.Zero(t, bh.Snapshot().InFlight, "the bulkhead has its permit back")
	assert.Equal(t, breaker.Open, b.State(), "a panic is a failure for the breaker")
}

// A runtime.Goexit in the handler goes on, with panicnil=1 or without:
// ServeHTTP does not return, nor does it raise a panic, and the policies
// have released what they hold.
func TestMiddlewareGoexitGoesOn(t *testing.T) {
	for _, godebug := range []string{"", "panicnil=1"} {
		t.Run("GODEBUG="+godebug, func(t *testing.T) {
			if godebug != "" {
				t.Setenv("GODEBUG", strings.TrimPrefix(os.Getenv("GODEBUG")+","+godebug, ","))
			}
			bh := bulkhead.New(1)
			h := bulwarkhttp.Middleware(bh)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
				runtime.Goexit()
			}))
			assert.Equal(t, testutil.Ending{Exited: true}, serveOn(h, httptest.NewRecorder()))
			assert.Zero(t, bh.Snapshot().InFlight)
		})
	}
}
