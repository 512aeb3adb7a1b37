package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestHTTPClientAccount(t *testing.T) {
	var out strings.Builder
	require.NoError(t, run(&out))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 13, out.String())
	for i, want := range []string{
		`GET /items/ok            -> 200 "/items/ok: in stock" in`,
		`GET /items/busy          -> 200 "/items/busy: in stock" [retry 2 after 1s]`,
		`GET /items/slow          -> 200 "/items/slow: in stock" [retry 2 after 50ms]`,
		`GET /items/flaky         -> 200 "/items/flaky: in stock" [retry 2 after 50ms; retry 3 after 50ms]`,
		`GET /items/broken        -> 500 "Internal Server Error" in`,
		`POST /items/reserve      -> 503 "Service Unavailable" in`,
		`GET /items/ok            -> 200`,
		`GET /items/gone          -> 503 "Service Unavailable" [retry 2 after 50ms; retry 3 after 50ms; gave up (max_attempts)]`,
		`GET pricing/prices/1     -> 502 "bad gateway" [retry 2 after 50ms; retry 3 after 50ms; gave up (max_attempts)]`,
		`GET pricing/prices/1     -> error: bulwark/retry: gave up after 3 attempts (max_attempts): bulwark/breaker: open [retry 2 after 50ms; breaker closed -> open; retry 3 after 50ms; gave up (max_attempts)]`,
		`GET pricing/prices/1     -> error: bulwark/retry: gave up after 1 attempts (retry_after): bulwark/breaker: open [gave up (retry_after)]`,
		`GET /items/ok            -> 200 "/items/ok: in stock" in`,
		`pricing was sent 5 requests; its breaker refused the rest`,
	} {
		assert.True(t, strings.HasPrefix(lines[i], want), "line %d:\n got %s\nwant %s...", i+1, lines[i], want)
	}
}
