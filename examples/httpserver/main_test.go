package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestHTTPServerAccount(t *testing.T) {
	var out strings.Builder
	require.NoError(t, run(&out))
	assert.Equal(t, `alice #1:              200 "hello, 203.0.113.10"      RateLimit: "per-client";r=2;t=1
alice #2:              200 "hello, 203.0.113.10"      RateLimit: "per-client";r=1;t=1
alice #3:              200 "hello, 203.0.113.10"      RateLimit: "per-client";r=0;t=1
alice #4:              429 "Too Many Requests"        RateLimit: "per-client";r=0;t=1  Retry-After: 1
alice #5:              429 "Too Many Requests"        RateLimit: "per-client";r=0;t=1  Retry-After: 1
bob #1:                200 "hello, 198.51.100.20"     RateLimit: "per-client";r=2;t=1
alice as 192.0.2.99:   429 "Too Many Requests"        RateLimit: "per-client";r=0;t=1  Retry-After: 1
alice, a second later: 200 "hello, 203.0.113.10"      RateLimit: "per-client";r=0;t=1
keys remembered: 2
`, out.String())
}
