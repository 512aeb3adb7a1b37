package operate_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/bulwark-go/bulwark/operate"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// outside is a policy written outside bulwark: not Inspectable.
type outside struct{}

func (outside) Execute(ctx context.Context, fn func(context.Context) error) error { return fn(ctx) }

// status is the part of the /status document these tests read.
type status struct {
	Healthy   bool `json:"healthy"`
	Pipelines []struct {
		Name    string   `json:"name"`
		Stages  []string `json:"stages"`
		Latency *struct {
			Mean    *float64   `json:"mean"`
			History []*float64 `json:"history"`
		} `json:"latency_ms"`
	} `json:"pipelines"`
	Policies []struct {
		Name     string   `json:"name"`
		Pipeline string   `json:"pipeline"`
		Kind     string   `json:"kind"`
		State    string   `json:"state"`
		Critical bool     `json:"critical"`
		Actions  []string `json:"actions"`
		Events   []struct {
			Type  string `json:"type"`
			From  string `json:"from"`
			To    string `json:"to"`
			Count int    `json:"count"`
		} `json:"events"`
	} `json:"policies"`
}

func getStatus(t testing.TB, h http.Handler) status {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/status", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	var s status
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &s), rec.Body.String())
	return s
}

func TestRegisterRefusesAnEmptyNameANilPolicyAndATakenName(t *testing.T) {
	r := operate.NewRegistry()
	require.NoError(t, r.Register("payments", breaker.New()))
	for _, tc := range []struct {
		name string
		p    bulwark.Policy
		want string
	}{
		{"", breaker.New(), `bulwark/operate: Register: name must not be empty`},
		{"db", nil, `bulwark/operate: Register: policy "db" is nil`},
		{"db", (*breaker.Breaker)(nil), `bulwark/operate: Register: policy "db" is nil`},
		{"payments", breaker.New(), `bulwark/operate: Register: "payments" is already registered`},
		{"payments", bulwark.New(retry.New()), `bulwark/operate: Register: "payments" is already registered`},
		// A stage's name is taken like any other.
		{"checkout/retry", breaker.New(), ""},
		{"checkout", bulwark.New(retry.New()), `bulwark/operate: Register: "checkout/retry" is already registered`},
	} {
		err := r.Register(tc.name, tc.p)
		if tc.want == "" {
			require.NoError(t, err)
			continue
		}
		require.EqualError(t, err, tc.want)
	}
	s := getStatus(t, operate.Handler(r))
	require.Len(t, s.Policies, 2, "a refused registration registers nothing")
	assert.Empty(t, s.Pipelines)
}

func TestAPipelineRegistersItsStagesUnderItsName(t *testing.T) {
	r := operate.NewRegistry()
	inner := bulwark.New(bulkhead.New(4), timeout.New(time.Second)).With(bulwark.WithName("inner"))
	p := bulwark.New(retry.New(), breaker.New(breaker.WithName("inventory")), inner, timeout.New(time.Second), outside{})
	require.NoError(t, r.Register("checkout", p, operate.Critical()))

	s := getStatus(t, operate.Handler(r))
	require.Len(t, s.Pipelines, 1)
	want := []string{"checkout/retry", "checkout/inventory", "checkout/bulkhead", "checkout/timeout", "checkout/timeout#2", "checkout/unknown"}
	assert.Equal(t, want, s.Pipelines[0].Stages, "labels are instance names, else kinds; nested pipelines are spliced")
	assert.Nil(t, s.Pipelines[0].Latency, "a pipeline without WithCallDuration measures no latency")
	var names, kinds []string
	for _, e := range s.Policies {
		names = append(names, e.Name)
		kinds = append(kinds, e.Kind)
		assert.Equal(t, "checkout", e.Pipeline)
		assert.True(t, e.Critical, "a critical pipeline's stages are critical")
	}
	assert.Equal(t, want, names)
	assert.Equal(t, []string{"retry", "breaker", "bulkhead", "timeout", "timeout", "unknown"}, kinds)
}

func TestTheZeroRegistryIsReady(t *testing.T) {
	var r operate.Registry
	s := getStatus(t, operate.Handler(&r))
	assert.True(t, s.Healthy)
	assert.Empty(t, s.Policies)
	require.NoError(t, r.Register("payments", breaker.New()))
	assert.Len(t, getStatus(t, operate.Handler(&r)).Policies, 1)
}

func TestRecentEventsComeFromThePolicyItself(t *testing.T) {
	ctx := context.Background()
	b := breaker.New(breaker.WithConsecutiveFailures(1))
	r := operate.NewRegistry()
	require.NoError(t, r.Register("payments", b))
	require.NoError(t, r.Register("payments-again", b), "one policy may be registered under several names")

	_ = b.Execute(ctx, testutil.Fail)
	for range 100 {
		_ = b.Execute(ctx, testutil.Nop) // rejected: counted, not listed
	}
	b.Reset()

	s := getStatus(t, operate.Handler(r))
	for _, p := range s.Policies {
		require.Len(t, p.Events, 2, p.Name)
		assert.Equal(t, "open", p.Events[0].From, "newest first")
		assert.Equal(t, "closed", p.Events[0].To)
		assert.Equal(t, "closed", p.Events[1].From)
		assert.Equal(t, "open", p.Events[1].To)
	}
}

func TestTheRingOfEventsIsBoundedAndFoldsRuns(t *testing.T) {
	ctx := context.Background()
	rt := retry.New(retry.WithMaxAttempts(2), retry.WithDelay(time.Nanosecond))
	r := operate.NewRegistry()
	require.NoError(t, r.Register("payments", rt))
	for range 1000 {
		_ = rt.Execute(ctx, testutil.Fail) // a retry, then the exhaustion
	}
	events := getStatus(t, operate.Handler(r)).Policies[0].Events
	assert.Len(t, events, 32, "the ring keeps the last 32 records")

	rt = retry.New(retry.WithMaxAttempts(3), retry.WithDelay(time.Nanosecond))
	r = operate.NewRegistry()
	require.NoError(t, r.Register("payments", rt))
	_ = rt.Execute(ctx, testutil.Fail)
	events = getStatus(t, operate.Handler(r)).Policies[0].Events
	require.Len(t, events, 2)
	assert.Equal(t, "exhausted", events[0].Type)
	assert.Equal(t, "retry", events[1].Type)
	assert.Equal(t, 2, events[1].Count, "two retries in a row take one record")
}

func TestAZeroPolicyRegisteredBeforeItsFirstCallHasNoEvents(t *testing.T) {
	var b breaker.Breaker
	r := operate.NewRegistry()
	require.NoError(t, r.Register("payments", &b))
	b.Isolate() // configures it
	s := getStatus(t, operate.Handler(r))
	assert.Equal(t, "isolated", s.Policies[0].State, "its status is read all the same")
	assert.Empty(t, s.Policies[0].Events)
}

func TestRegisteringStartsNoGoroutine(t *testing.T) {
	before := goleak.IgnoreCurrent()
	r := operate.NewRegistry()
	for i := range 100 {
		p := bulwark.New(retry.New(), breaker.New(), bulkhead.New(4)).With(bulwark.WithCallDuration())
		require.NoError(t, r.Register("checkout-"+string(rune('a'+i%26))+string(rune('a'+i/26)), p, operate.Critical()))
	}
	h := operate.Handler(r)
	getStatus(t, h)
	healthz(t, h, "?verbose")
	goleak.VerifyNone(t, before)
	runtime.KeepAlive(r)
}
