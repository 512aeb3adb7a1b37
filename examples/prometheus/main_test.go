package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// sample is one line of the Prometheus text format.
type sample struct {
	name   string
	labels map[string]string
	value  string
}

var (
	sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)$`)
	labelPair  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

// scrape reads /metrics of h and returns its samples with labels.
func scrape(t *testing.T, h http.Handler) []sample {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	var out []sample
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		m := sampleLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		s := sample{name: m[1], labels: map[string]string{}, value: m[3]}
		for _, kv := range labelPair.FindAllStringSubmatch(m[2], -1) {
			s.labels[kv[1]] = kv[2]
		}
		out = append(out, s)
	}
	return out
}

// find returns the value of the sample named name whose labels include
// want, and whether there is one.
func find(samples []sample, name string, want map[string]string) (string, bool) {
next:
	for _, s := range samples {
		if s.name != name {
			continue
		}
		for k, v := range want {
			if s.labels[k] != v {
				continue next
			}
		}
		return s.value, true
	}
	return "", false
}

func TestMetricsShowTheBreakerStateAndItsEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := newService()
		require.NoError(t, err)
		defer s.provider.Shutdown(context.Background()) //nolint:errcheck
		h := s.mux()

		ctx := context.Background()
		s.down.Store(true)
		_ = s.checkout.Execute(ctx, s.pay) // two failures
		short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
		_ = s.checkout.Execute(short, s.pay) // the third opens the breaker; the retry waits for it, and gives up
		cancel()

		samples := scrape(t, h)
		breaker := map[string]string{"bulwark_policy": "breaker", "bulwark_policy_name": "payments"}
		for state, want := range map[string]string{"open": "1", "closed": "0", "half_open": "0", "isolated": "0", "disabled": "0"} {
			labels := map[string]string{"bulwark_state": state, "otel_scope_name": "github.com/bulwark-go/bulwark"}
			for k, v := range breaker {
				labels[k] = v
			}
			got, ok := find(samples, "bulwark_breaker_state", labels)
			require.True(t, ok, "bulwark_breaker_state%v", labels)
			assert.Equal(t, want, got, state)
		}
		got, ok := find(samples, "bulwark_events_total", map[string]string{
			"bulwark_event": "state_change", "bulwark_pipeline": "checkout",
			"bulwark_policy": "breaker", "bulwark_policy_name": "payments",
			"bulwark_state_from": "closed", "bulwark_state_to": "open",
		})
		require.True(t, ok, "bulwark_events_total of the state change")
		assert.Equal(t, "1", got)
		got, ok = find(samples, "bulwark_events_total", map[string]string{
			"bulwark_event": "retry", "bulwark_pipeline": "checkout", "bulwark_policy": "retry", "bulwark_policy_name": "checkout",
		})
		require.True(t, ok, "bulwark_events_total of the retries")
		assert.Equal(t, "2", got)
		got, ok = find(samples, "bulwark_calls_total", map[string]string{
			"bulwark_policy": "breaker", "bulwark_policy_name": "payments", "bulwark_outcome": "failure",
		})
		require.True(t, ok, "bulwark_calls_total")
		assert.Equal(t, "3", got)

		// The dashboard beside it says the same.
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/debug/bulwark/healthz", nil))
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
		assert.Contains(t, rec.Body.String(), `"name":"checkout/payments","kind":"breaker","state":"open"`)
	})
}

// The example stops by itself when its time is up, and prints the series
// it scraped from its own /metrics.
func TestRunStopsWhenItsTimeIsUp(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	var out strings.Builder
	require.NoError(t, run(ctx, "127.0.0.1:0", &out))
	text := out.String()
	assert.Regexp(t, `^metrics:   http://127\.0\.0\.1:\d+/metrics\ndashboard: http://127\.0\.0\.1:\d+/debug/bulwark/\n`, text)
	assert.Contains(t, text, `bulwark_breaker_state{bulwark_policy="breaker",bulwark_policy_name="payments",bulwark_state="closed"`)
	assert.Contains(t, text, `bulwark_events_total{bulwark_event="state_change",bulwark_pipeline="checkout",bulwark_policy="breaker",bulwark_policy_name="payments",bulwark_state_from="closed",bulwark_state_to="open"`)
}
