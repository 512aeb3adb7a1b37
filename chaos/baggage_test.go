package chaos_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/bulwark-go/bulwark/chaos"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/bulwark-go/bulwark/middleware/bulwarkhttp"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
)

// extractBaggage is what otelhttp.NewHandler does with the baggage
// propagator installed: it puts the request's baggage header into its
// context, where the policies find it.
func extractBaggage(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := propagation.Baggage{}.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// injectBaggage is what otelhttp.NewTransport does: it writes the
// baggage of the request's context into its headers.
type injectBaggage struct{ base http.RoundTripper }

func (t injectBaggage) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	propagation.Baggage{}.Inject(r.Context(), propagation.HeaderCarrier(r.Header))
	return t.base.RoundTrip(r)
}

// One request carries chaos through every service it reaches: the client
// sets bulwark.chaos=on in its baggage, service A (behind
// bulwarkhttp.Middleware) is switched on by it and passes it on to
// service B through bulwarkhttp.Transport, whose Chaos fails the request.
// Requests without the member, or with another value, get no faults.
func TestBaggageCarriesChaosAcrossServices(t *testing.T) {
	errB := testutil.ErrDep
	chaosB := chaos.New(chaos.WithName("b"), chaos.WithError(1, errB), chaos.WithEnabled(chaos.BaggageEnabled))
	srvB := httptest.NewServer(extractBaggage(bulwarkhttp.Middleware(chaosB)(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "b") }))))
	defer srvB.Close()

	var enabledA atomic.Int64
	chaosA := chaos.New(chaos.WithName("a"), chaos.WithEnabled(chaos.BaggageEnabled),
		chaos.WithOutcome(1, func(_ context.Context, err error) error { enabledA.Add(1); return err }))
	toB := &http.Client{Transport: injectBaggage{bulwarkhttp.Transport(srvB.Client().Transport, retry.New(retry.WithMaxAttempts(1)))}}
	srvA := httptest.NewServer(extractBaggage(bulwarkhttp.Middleware(chaosA)(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, srvB.URL, nil)
			resp, err := toB.Do(req)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			defer resp.Body.Close()
			w.WriteHeader(resp.StatusCode) // relays B's status
			_, _ = io.Copy(w, resp.Body)
		}))))
	defer srvA.Close()
	client := &http.Client{Transport: injectBaggage{srvA.Client().Transport}}

	get := func(ctx context.Context) int {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srvA.URL, nil)
		require.NoError(t, err)
		resp, err := client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	off, err := baggage.NewMemberRaw(chaos.BaggageKey, "off")
	require.NoError(t, err)
	bagOff, err := baggage.New(off)
	require.NoError(t, err)

	ctx := context.Background()
	assert.Equal(t, http.StatusOK, get(ctx), "no baggage")
	assert.Equal(t, http.StatusOK, get(baggage.ContextWithBaggage(ctx, bagOff)), "bulwark.chaos=off")
	assert.Zero(t, enabledA.Load())
	assert.Zero(t, chaosB.Snapshot().Errors)

	assert.Equal(t, http.StatusInternalServerError, get(chaos.EnableBaggage(ctx)), "B's injected failure, relayed by A")
	assert.Equal(t, int64(1), enabledA.Load(), "A was switched on")
	assert.Equal(t, int64(1), chaosB.Snapshot().Errors, "B was switched on")
	assert.Equal(t, http.StatusOK, get(ctx), "the next request without it is untouched")
	srvA.Client().CloseIdleConnections()
	srvB.Client().CloseIdleConnections()
}

// A Chaos built without WithEnabled(chaos.BaggageEnabled) ignores the
// baggage, and Enable does not travel in it: baggage is switched on by
// EnableBaggage alone, which keeps the rest of the baggage.
func TestBaggageIsOptIn(t *testing.T) {
	c := chaos.New(chaos.WithError(1, errInjected))
	ctx := chaos.EnableBaggage(context.Background())
	assert.True(t, chaos.BaggageEnabled(ctx))
	assert.NoError(t, c.Execute(ctx, testutil.Nop))
	assert.False(t, chaos.BaggageEnabled(chaos.Enable(context.Background())))

	tenant, err := baggage.NewMemberRaw("tenant", "acme")
	require.NoError(t, err)
	b, err := baggage.New(tenant)
	require.NoError(t, err)
	both := chaos.EnableBaggage(baggage.ContextWithBaggage(context.Background(), b))
	assert.Equal(t, "acme", baggage.FromContext(both).Member("tenant").Value())
	assert.Equal(t, "on", baggage.FromContext(both).Member("bulwark.chaos").Value())
}
