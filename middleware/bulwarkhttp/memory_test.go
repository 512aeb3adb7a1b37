package bulwarkhttp_test

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/middleware/bulwarkhttp"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/stretchr/testify/assert"
)

type roundTripperHolder struct{ rt http.RoundTripper }

type handlerHolder struct{ h http.Handler }

func TestBytesPerInstance(t *testing.T) {
	p := retry.New()
	newHost := func(string) bulwark.Policy { return breaker.New() }
	transport := otest.HeapPerInstance(1000, func() *roundTripperHolder {
		return &roundTripperHolder{bulwarkhttp.Transport(memRT{}, p)}
	})
	withHosts := otest.HeapPerInstance(1000, func() *roundTripperHolder {
		return &roundTripperHolder{bulwarkhttp.Transport(memRT{}, p, bulwarkhttp.WithHostPolicy(100, newHost))}
	})
	middleware := otest.HeapPerInstance(1000, func() *handlerHolder {
		return &handlerHolder{bulwarkhttp.Middleware(p)(okHandler)}
	})
	perKey := otest.HeapPerInstance(1000, func() *bulwarkhttp.PerKey { return bulwarkhttp.NewPerKey(100, newHost) })
	t.Logf("bytes per instance: Transport %.0f, Transport with WithHostPolicy (no host yet) %.0f, Middleware handler %.0f, PerKey (no key yet) %.0f",
		transport, withHosts, middleware, perKey)
	assert.Less(t, transport, 512.0)
	assert.Less(t, withHosts, 768.0)
	assert.Less(t, middleware, 512.0)
	assert.Less(t, perKey, 256.0)
}

func TestDroppedTransportIsCollected(t *testing.T) {
	for _, name := range []string{"global meter provider", "SDK meter provider"} {
		t.Run(name, func(t *testing.T) {
			mp := otest.NewMeter()
			collected := otest.Collected(func() *roundTripperHolder {
				var opts []breaker.Option
				if name != "global meter provider" {
					opts = append(opts, breaker.WithMeterProvider(mp))
				}
				return &roundTripperHolder{bulwarkhttp.Transport(memRT{}, retry.New(),
					bulwarkhttp.WithHostPolicy(10, func(string) bulwark.Policy { return breaker.New(opts...) }),
					bulwarkhttp.WithAttemptTimeout(time.Second))}
			}, func(h *roundTripperHolder) {
				req, _ := http.NewRequest("GET", "http://upstream/", nil)
				resp, err := h.rt.RoundTrip(req)
				if err == nil {
					resp.Body.Close()
				}
			})
			assert.True(t, collected)
		})
	}
}

func TestDroppedMiddlewareIsCollected(t *testing.T) {
	collected := otest.Collected(func() *handlerHolder {
		return &handlerHolder{bulwarkhttp.Middleware(breaker.New())(okHandler)}
	}, func(h *handlerHolder) {
		h.h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	})
	assert.True(t, collected)
}

func runtimeAddCleanup[T any](p *T, ch chan struct{}) {
	runtime.AddCleanup(p, func(ch chan struct{}) { ch <- struct{}{} }, ch)
}

func waitCollected(ch chan struct{}) bool {
	for range 20 {
		runtime.GC()
		select {
		case <-ch:
			return true
		case <-time.After(10 * time.Millisecond):
		}
	}
	return false
}
