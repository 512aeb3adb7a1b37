// Package redisx holds what bulwark's Redis-backed packages share
// (ratelimit/redislimit and breaker/redisstore): their event types, the
// view of the user's client their commands go through, the health record
// that decides when to ask a Redis that has failed again, and the escaping
// of user keys.
package redisx

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/redis/go-redis/v9"
)

// The event types of the Redis-backed policies.
var (
	// EventDegraded: Redis could not be asked (it failed, or did not
	// answer within the timeout); decisions are local until it answers
	// again. Event.Err is the cause.
	EventDegraded = bulwark.NewEventType("degraded")
	// EventRecovered: Redis answered again after EventDegraded.
	EventRecovered = bulwark.NewEventType("recovered")
)

// MetricDegraded is the observable gauge that is 1 while a Redis-backed
// policy decides without Redis, 0 otherwise.
const MetricDegraded = "bulwark.redis.degraded"

// IsNil reports whether c is nil or a typed nil pointer.
func IsNil(c redis.UniversalClient) bool {
	if c == nil {
		return true
	}
	v := reflect.ValueOf(c)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// View returns the client the policy sends its commands through. For a
// *redis.Client it is Client.WithTimeout(timeout), which shares the
// client's pool and hooks, with context deadlines applied to reads and
// writes, so that a command ends at the earlier of the call's deadline and
// timeout whatever the user's client sets ContextTimeoutEnabled to; the
// user's client is not changed. Other clients (cluster, ring) have no
// such view and are used as given: their reads and writes end at the
// call's deadline only if they were built with ContextTimeoutEnabled, and
// at their ReadTimeout and WriteTimeout (go-redis default 3s) otherwise.
func View(c redis.UniversalClient, timeout time.Duration) redis.UniversalClient {
	if rc, ok := c.(*redis.Client); ok {
		v := rc.WithTimeout(timeout)
		// WithTimeout gave the view options of its own; the user's
		// client keeps its setting.
		v.Options().ContextTimeoutEnabled = true
		return v
	}
	return c
}

// Bounded reports whether a command through View(c) ends at its
// context's deadline.
func Bounded(c redis.UniversalClient) bool {
	switch c := c.(type) {
	case *redis.Client:
		return true
	case *redis.ClusterClient:
		return c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		return c.Options().ContextTimeoutEnabled
	}
	return false
}

// CallerGone reports whether a command that failed with err under ctx, the
// caller's context, failed because the caller gave up: the caller's
// context is done. Such a failure says nothing of Redis.
func CallerGone(ctx context.Context, err error) bool {
	return err != nil && ctx.Err() != nil
}

// IsScriptError reports whether err is an error Redis returned for the
// script itself (a wrong type at the key, say), not a failure to reach it.
func IsScriptError(err error) bool {
	var re redis.Error
	return errors.As(err, &re) && !strings.HasPrefix(re.Error(), "LOADING") &&
		!strings.HasPrefix(re.Error(), "BUSY") && !strings.HasPrefix(re.Error(), "MASTERDOWN") &&
		!strings.HasPrefix(re.Error(), "CLUSTERDOWN") && !strings.HasPrefix(re.Error(), "TRYAGAIN")
}

// Health records whether Redis answers. While it does, every decision
// asks it; once it fails, decisions are local and one call per recheck
// interval asks again, so that a hung or dead server costs one timeout per
// interval rather than one per call. The zero Health is healthy.
type Health struct {
	degraded atomic.Bool
	next     atomic.Int64 // unix ns: the next call allowed to ask while degraded
	since    atomic.Int64 // unix ns: when it became degraded
}

// Degraded reports whether Redis is taken to be unavailable.
func (h *Health) Degraded() bool { return h.degraded.Load() }

// Ask reports whether a call should ask Redis now: always while healthy;
// while degraded, the first call after each recheck interval.
func (h *Health) Ask(recheck time.Duration) bool {
	if !h.degraded.Load() {
		return true
	}
	now := time.Now().UnixNano()
	n := h.next.Load()
	return now >= n && h.next.CompareAndSwap(n, after(now, recheck))
}

// after returns now (unix ns) plus d >= 0, saturated: a recheck interval
// of the longest Duration must not wrap around to a time in the past.
func after(now int64, d time.Duration) int64 {
	if int64(d) > math.MaxInt64-now {
		return math.MaxInt64
	}
	return now + int64(d)
}

// Failed records a failure to reach Redis and reports whether it moved
// the record from healthy to degraded.
func (h *Health) Failed(recheck time.Duration) bool {
	now := time.Now().UnixNano()
	h.next.Store(after(now, recheck))
	if h.degraded.CompareAndSwap(false, true) {
		h.since.Store(now)
		return true
	}
	return false
}

// Succeeded records an answer from Redis and reports whether it moved the
// record from degraded to healthy.
func (h *Health) Succeeded() bool {
	return h.degraded.Load() && h.degraded.CompareAndSwap(true, false)
}

// maxPlainKey bounds the length of a user key used as it is.
const maxPlainKey = 128

// EscapeKey returns key in a form that carries no Redis key syntax: the
// bytes [A-Za-z0-9._:-] stand for themselves and every other byte (the
// braces of a hash tag, spaces, control bytes) is %XX; a result longer
// than 128 bytes is replaced by "#" and the hex SHA-256 of the key, so
// that the key names in Redis stay short.
func EscapeKey(key string) string {
	plain := true
	for i := 0; i < len(key); i++ {
		if !safe(key[i]) {
			plain = false
			break
		}
	}
	if plain && len(key) <= maxPlainKey {
		return key
	}
	var b strings.Builder
	for i := 0; i < len(key) && b.Len() <= maxPlainKey; i++ {
		c := key[i]
		if safe(c) {
			b.WriteByte(c)
		} else {
			const hexDigits = "0123456789ABCDEF"
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	if b.Len() <= maxPlainKey {
		return b.String()
	}
	sum := sha256.Sum256([]byte(key))
	return "#" + hex.EncodeToString(sum[:])
}

func safe(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '_' || c == ':' || c == '-'
}
