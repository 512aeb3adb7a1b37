package bulwarkhttp

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/ratelimit"
	"golang.org/x/time/rate"
)

// The limiters that know their quota, as the RateLimit headers need it.
// Declared here, small, so that any limiter with the same methods fits.
type (
	bucketQuota interface {
		Snapshot() ratelimit.Snapshot
	}
	keyedQuota interface {
		Snapshot() ratelimit.KeySnapshot
		Tokens(key string) (float64, bool)
	}
	windowQuota interface {
		Snapshot() ratelimit.WindowSnapshot
	}
)

// quotaHeaders writes the RateLimit-Policy and RateLimit fields of
// draft-ietf-httpapi-ratelimit-headers (draft 10) for one limiter.
type quotaHeaders struct {
	name   string // the quota policy's name, as an sf-string
	bucket bucketQuota
	keyed  keyedQuota
	window windowQuota
}

// WithRateLimitHeaders adds the RateLimit-Policy and RateLimit response
// fields of the IETF draft (draft-ietf-httpapi-ratelimit-headers-10) to
// every response, rejections included, for limiter: a *ratelimit.Limiter,
// a *ratelimit.Keyed (whose key the middleware computes with WithKey), or
// a *ratelimit.SlidingWindow, usually a member of the middleware's policy.
// name identifies the quota policy in both fields:
//
//	RateLimit-Policy: "api";q=20;w=2
//	RateLimit: "api";r=19;t=1
//
// For a token bucket, q is the burst, w the seconds a drained bucket takes
// to refill, r the whole tokens left and t the seconds until the next one
// (absent when the bucket is full); for a sliding window, q is its n, w its
// window and r what is left of it. No partition key is sent: a key (a
// client's address) may be what the server should not tell. An unlimited
// limiter sends nothing. The fields are computed after the limiter took
// the request's token, at the first byte the handler writes, and cost a
// few small allocations per response. Default: off. Middleware only. It
// panics if name is empty or not printable ASCII, or if limiter knows no
// quota.
func WithRateLimitHeaders(name string, limiter bulwark.Policy) Option {
	if name == "" {
		panicf("WithRateLimitHeaders", "name must not be empty")
	}
	for i := 0; i < len(name); i++ {
		if name[i] < 0x20 || name[i] > 0x7e {
			panicf("WithRateLimitHeaders", "name must be printable ASCII, got %q", name)
		}
	}
	q := &quotaHeaders{name: sfString(name)}
	switch l := limiter.(type) {
	case keyedQuota:
		q.keyed = l
	case bucketQuota:
		q.bucket = l
	case windowQuota:
		q.window = l
	default:
		panicf("WithRateLimitHeaders", "limiter must know its quota (a *ratelimit.Limiter, *ratelimit.Keyed or *ratelimit.SlidingWindow), got %T", limiter)
	}
	return option{"WithRateLimitHeaders", server, func(c *config) { c.quota = q }}
}

// sfString quotes s as a structured-field string (RFC 8941).
func sfString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// set writes the fields for the request s into h.
func (q *quotaHeaders) set(h http.Header, s *serve) {
	var limit rate.Limit
	var burst int
	var tokens float64
	switch {
	case q.keyed != nil:
		snap := q.keyed.Snapshot()
		limit, burst = snap.Limit, snap.Burst
		var ok bool
		if tokens, ok = q.keyed.Tokens(s.key); !ok {
			tokens = float64(burst) // a key not remembered has a full bucket
		}
	case q.bucket != nil:
		snap := q.bucket.Snapshot()
		limit, burst, tokens = snap.Limit, snap.Burst, snap.Tokens
	default:
		snap := q.window.Snapshot()
		if snap.N <= 0 || snap.Window <= 0 {
			return
		}
		left := max(float64(snap.N)-math.Ceil(snap.Estimate), 0)
		h.Set("RateLimit-Policy", q.name+";q="+strconv.Itoa(snap.N)+";w="+strconv.FormatInt(ceilSeconds(snap.Window), 10))
		h.Set("RateLimit", q.name+";r="+strconv.FormatInt(int64(left), 10))
		return
	}
	if limit >= rate.Inf || burst <= 0 {
		return // no limit to tell of: rate.Inf or +Inf, as for ratelimit
	}
	policy := q.name + ";q=" + strconv.Itoa(burst)
	if limit > 0 {
		policy += ";w=" + strconv.FormatInt(ceilSecondsF(float64(burst)/float64(limit)), 10)
	}
	h.Set("RateLimit-Policy", policy)
	whole := math.Floor(max(tokens, 0))
	state := q.name + ";r=" + strconv.FormatInt(int64(whole), 10)
	if tokens < float64(burst) && limit > 0 {
		// Seconds until the next whole token.
		state += ";t=" + strconv.FormatInt(ceilSecondsF((whole+1-tokens)/float64(limit)), 10)
	}
	h.Set("RateLimit", state)
}

func ceilSeconds(d time.Duration) int64 {
	s := int64(d / time.Second)
	if d%time.Second != 0 {
		s++
	}
	return s
}

// ceilSecondsF rounds seconds up to a whole number, at least 1 and
// saturated.
func ceilSecondsF(s float64) int64 {
	c := math.Ceil(s)
	if !(c < math.MaxInt64) { // NaN and +Inf too
		return math.MaxInt64
	}
	return max(int64(c), 1)
}
