package redislimit

import (
	"time"

	"github.com/bulwark-go/bulwark/internal/clock"
)

// WithLeaseLifetime sets how long leased tokens last.
func WithLeaseLifetime(d time.Duration) Option { return withLeaseLifetime(d) }

// WithClock times the leases on c.
func WithClock(c clock.Clock) Option { return withClock(c) }
