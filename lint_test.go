package bulwark_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/fallback"
	"github.com/bulwark-go/bulwark/hedge"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/throttle"
	"github.com/bulwark-go/bulwark/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func useCache(context.Context, error) error { return nil }

// outsider is a policy written outside bulwark: Lint does not judge it,
// but counts it in the positions.
type outsider struct{}

func (outsider) Execute(ctx context.Context, fn func(context.Context) error) error { return fn(ctx) }

func TestLint(t *testing.T) {
	tests := []struct {
		name     string
		p        *bulwark.Pipeline
		rules    []string // the findings, in order
		policies [][]int
	}{
		{
			name: "the order of the design: nothing to say",
			p: bulwark.New(
				fallback.New(useCache), timeout.New(2*time.Second), retry.New(retry.WithMaxAttempts(3)),
				breaker.New(), bulkhead.New(64), timeout.New(300*time.Millisecond),
			),
		},
		{
			name:  "a per-attempt timeout outside the retry",
			p:     bulwark.New(timeout.New(2*time.Second), timeout.New(300*time.Millisecond), retry.New()),
			rules: []string{"timeout-per-attempt-outside-retry"}, policies: [][]int{{0, 1, 2}},
		},
		{
			name: "the same, inside the retry",
			p:    bulwark.New(timeout.New(2*time.Second), retry.New(), timeout.New(300*time.Millisecond)),
		},
		{
			name: "two timeouts outside the retry, the shorter outermost",
			p:    bulwark.New(timeout.New(300*time.Millisecond), timeout.New(2*time.Second), retry.New()),
		},
		{
			name:  "a total timeout shorter than the first retry delay",
			p:     bulwark.New(timeout.New(50*time.Millisecond), retry.New(retry.WithDelay(100*time.Millisecond))),
			rules: []string{"timeout-shorter-than-retry-delay"}, policies: [][]int{{0, 1}},
		},
		{
			name:  "as long as the first retry delay",
			p:     bulwark.New(timeout.New(100*time.Millisecond), retry.New(retry.WithDelay(100*time.Millisecond))),
			rules: []string{"timeout-shorter-than-retry-delay"}, policies: [][]int{{0, 1}},
		},
		{
			name: "longer than the first retry delay",
			p:    bulwark.New(timeout.New(101*time.Millisecond), retry.New(retry.WithDelay(100*time.Millisecond))),
		},
		{
			name:  "the default backoff's first delay is 100ms before its full jitter",
			p:     bulwark.New(timeout.New(80*time.Millisecond), retry.New()),
			rules: []string{"timeout-shorter-than-retry-delay"}, policies: [][]int{{0, 1}},
		},
		{
			name:  "capped by WithMaxDelay",
			p:     bulwark.New(timeout.New(80*time.Millisecond), retry.New(retry.WithMaxDelay(50*time.Millisecond))),
			rules: nil,
		},
		{
			name:  "the retry's own max duration",
			p:     bulwark.New(retry.New(retry.WithDelay(time.Second), retry.WithMaxDuration(time.Second))),
			rules: []string{"timeout-shorter-than-retry-delay"}, policies: [][]int{{0}},
		},
		{
			name: "a single attempt has no retry delay",
			p:    bulwark.New(timeout.New(time.Millisecond), retry.New(retry.WithMaxAttempts(1), retry.WithDelay(time.Second))),
		},
		{
			name: "waits of the user's own are not judged",
			p: bulwark.New(timeout.New(time.Millisecond),
				retry.New(retry.WithDelayFunc(func(int, error) time.Duration { return time.Second }))),
		},
		{
			name: "a duration per call is not judged",
			p: bulwark.New(timeout.New(time.Millisecond, timeout.WithDurationFunc(func(context.Context) time.Duration { return time.Hour })),
				retry.New(retry.WithDelay(time.Second))),
		},
		{
			name:  "a retry inside a breaker",
			p:     bulwark.New(breaker.New(), retry.New()),
			rules: []string{"retry-inside-breaker"}, policies: [][]int{{0, 1}},
		},
		{
			name: "a breaker inside the retry",
			p:    bulwark.New(retry.New(), breaker.New()),
		},
		{
			name:  "a bulkhead outside an abandoning timeout",
			p:     bulwark.New(bulkhead.New(8), timeout.New(time.Second, timeout.WithAbandon())),
			rules: []string{"bulkhead-outside-abandoning-timeout"}, policies: [][]int{{0, 1}},
		},
		{
			name: "an adaptive bulkhead outside one, nested",
			p: bulwark.New(bulkhead.NewAdaptive(bulkhead.Vegas()), outsider{},
				bulwark.New(timeout.New(time.Second, timeout.WithAbandon()))),
			rules: []string{"bulkhead-outside-abandoning-timeout"}, policies: [][]int{{0, 2}},
		},
		{
			name: "a bulkhead outside a timeout that waits",
			p:    bulwark.New(bulkhead.New(8), timeout.New(time.Second)),
		},
		{
			name: "a bulkhead inside an abandoning timeout",
			p:    bulwark.New(timeout.New(time.Second, timeout.WithAbandon()), bulkhead.New(8)),
		},
		{
			name:  "a fallback inside a retry",
			p:     bulwark.New(retry.New(), fallback.New(useCache)),
			rules: []string{"fallback-inside-retry"}, policies: [][]int{{0, 1}},
		},
		{
			name: "a fallback outside the retry",
			p:    bulwark.New(fallback.New(useCache), retry.New()),
		},
		{
			name: "the zero fallback handles nothing",
			p:    bulwark.New(retry.New(), &fallback.Fallback{}),
		},
		{
			name:  "a hedge outside a bulkhead",
			p:     bulwark.New(hedge.New(), bulkhead.New(8)),
			rules: []string{"hedge-outside-bulkhead"}, policies: [][]int{{0, 1}},
		},
		{
			name: "a hedge inside a bulkhead",
			p:    bulwark.New(bulkhead.New(8), hedge.New()),
		},
		{
			name: "everything wrong at once, nested and named",
			p: bulwark.New(
				bulwark.New(breaker.New(), bulkhead.New(8), hedge.New()).With(bulwark.WithName("inner")),
				retry.New(), fallback.New(useCache, fallback.WithHandleIf(func(error) bool { return true })),
				bulkhead.New(4), timeout.New(time.Second, timeout.WithAbandon()),
			).With(bulwark.WithCallDuration()),
			rules: []string{"retry-inside-breaker", "bulkhead-outside-abandoning-timeout", "bulkhead-outside-abandoning-timeout",
				"fallback-inside-retry", "hedge-outside-bulkhead"},
			policies: [][]int{{0, 3}, {1, 6}, {5, 6}, {3, 4}, {2, 5}},
		},
		{
			name: "policies Lint has nothing to say of",
			p:    bulwark.New(ratelimit.New(10, 10), throttle.New(), outsider{}, breaker.New()),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := bulwark.Lint(tt.p)
			var rules []string
			var policies [][]int
			for _, f := range fs {
				rules, policies = append(rules, f.Rule), append(policies, f.Policies)
				assert.NotEmpty(t, f.What)
				assert.NotEmpty(t, f.Why)
				assert.Equal(t, f.What+": "+f.Why, f.String())
			}
			require.Equal(t, tt.rules, rules)
			require.Equal(t, tt.policies, policies)
			if tt.rules == nil {
				require.Nil(t, fs, "nothing found is nil")
			}
		})
	}
}

func TestLintOfNothing(t *testing.T) {
	assert.Nil(t, bulwark.Lint(nil))
	assert.Nil(t, bulwark.Lint(&bulwark.Pipeline{}))
	assert.Nil(t, bulwark.Lint(bulwark.New()))
}

// A finding says what is where, by position and setting, and why it does
// not work, with the order that does.
func TestLintSaysWhatAndWhy(t *testing.T) {
	fs := bulwark.Lint(bulwark.New(timeout.New(2*time.Second), timeout.New(300*time.Millisecond), retry.New(retry.WithJitter(retry.JitterNone))))
	require.Len(t, fs, 1)
	assert.Equal(t, "the timeout of 300ms (policy 1) is outside the retry (policy 2), inside the longer timeout of 2s (policy 0)", fs[0].What)
	assert.Contains(t, fs[0].Why, "goes inside the retry (after it in bulwark.New)")

	fs = bulwark.Lint(bulwark.New(timeout.New(50*time.Millisecond), retry.New()))
	require.Len(t, fs, 1)
	assert.Equal(t, "the timeout of 50ms (policy 0) bounds the retry (policy 1), whose first retry waits 100ms before jitter", fs[0].What)
	assert.True(t, strings.Contains(fs[0].Why, "jitter draws a wait shorter"), fs[0].Why)

	fs = bulwark.Lint(bulwark.New(timeout.New(50*time.Millisecond), retry.New(retry.WithDelay(time.Second))))
	require.Len(t, fs, 1)
	assert.Contains(t, fs[0].Why, "so the call is never retried")

	fs = bulwark.Lint(bulwark.New(breaker.New(), retry.New(retry.WithMaxAttempts(4))))
	require.Len(t, fs, 1)
	assert.Contains(t, fs[0].Why, "up to 4 attempts")
}
