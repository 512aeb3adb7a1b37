package benchmarks

import (
	"net/http"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// retryablehttpTransport is hashicorp/go-retryablehttp's RoundTripper: 3
// attempts, the per-attempt timeout as the http.Client's (it has no
// breaker, and runs each request through an http.Client of its own).
func retryablehttpTransport(base http.RoundTripper) http.RoundTripper {
	c := retryablehttp.NewClient()
	c.HTTPClient = &http.Client{Transport: base, Timeout: httpAttemptTimeout}
	c.RetryMax = 2
	c.RetryWaitMin, c.RetryWaitMax = time.Millisecond, time.Millisecond // its default waits a second
	c.Logger = nil
	return &retryablehttp.RoundTripper{Client: c}
}
