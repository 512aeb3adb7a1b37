package bulwarkhttp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/middleware/bulwarkhttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPerKeyBreakerPerRoute(t *testing.T) {
	perRoute := bulwarkhttp.NewPerKey(100, func(string) bulwark.Policy {
		return breaker.New(breaker.WithConsecutiveFailures(2), breaker.WithOpenDuration(time.Hour))
	})
	mw := bulwarkhttp.Middleware(perRoute, bulwarkhttp.WithKey(bulwarkhttp.PatternKey(nil)))
	mux := http.NewServeMux()
	mux.Handle("GET /broken", mw(status(500, "")))
	mux.Handle("GET /fine", mw(status(200, "")))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for range 2 {
		code, _, _ := get(t, srv.Client(), srv.URL+"/broken")
		assert.Equal(t, 500, code)
	}
	code, _, _ := get(t, srv.Client(), srv.URL+"/broken")
	assert.Equal(t, 503, code, "the broken route's breaker is open")
	code, _, _ = get(t, srv.Client(), srv.URL+"/fine")
	assert.Equal(t, 200, code, "the other route's is not")
	assert.Equal(t, 2, perRoute.Len())
}

func TestPerKeyIsBounded(t *testing.T) {
	var built atomic.Int32
	k := bulwarkhttp.NewPerKey(2, func(string) bulwark.Policy { built.Add(1); return breaker.New() })
	for _, key := range []string{"a", "b", "a", "c", "d", "a"} {
		require.NoError(t, k.Execute(withKey(key), nop))
		assert.LessOrEqual(t, k.Len(), 2)
	}
	assert.Equal(t, 2, k.Len())
	assert.GreaterOrEqual(t, built.Load(), int32(4))
}

func TestPerKeyKeepsRecentlyUsed(t *testing.T) {
	var built []string
	k := bulwarkhttp.NewPerKey(3, func(key string) bulwark.Policy { built = append(built, key); return breaker.New() })
	// "hot" is used before every new key: it is never the least recently
	// used of the sample (the whole map, at this size).
	for _, key := range []string{"hot", "a", "hot", "b", "hot", "c", "hot", "d", "hot", "e", "hot"} {
		require.NoError(t, k.Execute(withKey(key), nop))
	}
	assert.Equal(t, []string{"hot", "a", "b", "c", "d", "e"}, built, "hot was built once")
}

func TestPerKeyOnePolicyPerKeyUnderContention(t *testing.T) {
	var built atomic.Int32
	var used sync.Map
	k := bulwarkhttp.NewPerKey(10, func(string) bulwark.Policy {
		built.Add(1)
		return &usedPolicy{used: &used}
	})
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 100 {
				assert.NoError(t, k.Execute(withKey("same"), nop))
			}
		})
	}
	wg.Wait()
	n := 0
	used.Range(func(any, any) bool { n++; return true })
	assert.Equal(t, 1, n, "every call ran through one policy (%d were built)", built.Load())
}

// usedPolicy records, by its identity, that it ran a call.
type usedPolicy struct {
	used *sync.Map
	_    byte // distinct addresses
}

func (u *usedPolicy) Execute(ctx context.Context, fn func(context.Context) error) error {
	u.used.Store(u, true)
	return fn(ctx)
}

func TestPerKeyErrors(t *testing.T) {
	var zero bulwarkhttp.PerKey
	assert.EqualError(t, zero.Execute(context.Background(), nop), "bulwark/bulwarkhttp: a zero PerKey has no factory; build it with NewPerKey")
	assert.Zero(t, zero.Len())

	k := bulwarkhttp.NewPerKey(1, func(string) bulwark.Policy { return nil })
	ran := false
	err := k.Execute(withKey("x"), func(context.Context) error { ran = true; return nil })
	assert.EqualError(t, err, `bulwark/bulwarkhttp: the policy factory returned nil for key "x"`)
	assert.False(t, ran)
	var nilCtx context.Context // a caller's mistake, answered with an error
	assert.ErrorIs(t, k.Execute(nilCtx, nop), bulwark.ErrNilContext)
	assert.ErrorIs(t, k.Execute(context.Background(), nil), bulwark.ErrNilFunc)

	assert.PanicsWithValue(t, "bulwark/bulwarkhttp: NewPerKey: maxKeys must be >= 1, got 0", func() {
		bulwarkhttp.NewPerKey(0, func(string) bulwark.Policy { return nil })
	})
	assert.PanicsWithValue(t, "bulwark/bulwarkhttp: NewPerKey: factory must not be nil", func() { bulwarkhttp.NewPerKey(1, nil) })
}

func TestPerKeyKnownKeyAllocatesNothing(t *testing.T) {
	k := bulwarkhttp.NewPerKey(10, func(string) bulwark.Policy { return breaker.New() })
	ctx := withKey("k")
	require.NoError(t, k.Execute(ctx, nop))
	assert.Zero(t, testing.AllocsPerRun(1000, func() { k.Execute(ctx, nop) })) //nolint:errcheck
}

func TestPerKeyDroppedPolicyIsCollected(t *testing.T) {
	for _, name := range []string{"global meter provider", "SDK meter provider"} {
		t.Run(name, func(t *testing.T) {
			var opts []breaker.Option
			if name != "global meter provider" {
				opts = append(opts, breaker.WithMeterProvider(otest.NewMeter()))
			}
			collected := make(chan struct{}, 1)
			k := bulwarkhttp.NewPerKey(1, func(key string) bulwark.Policy {
				b := breaker.New(opts...)
				if key == "first" {
					runtimeAddCleanup(b, collected)
				}
				return b
			})
			require.NoError(t, k.Execute(withKey("first"), nop))
			require.NoError(t, k.Execute(withKey("second"), nop)) // evicts "first"
			assert.True(t, waitCollected(collected), "the evicted breaker was collected")
		})
	}
}

// withKey is a context whose KeyFromContext is key, as the middleware
// makes it.
func withKey(key string) context.Context {
	var got context.Context
	h := bulwarkhttp.Middleware(&recorder{}, bulwarkhttp.WithKey(func(*http.Request) string { return key }))(
		http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r.Context() }))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	return got
}

func nop(context.Context) error { return nil }
