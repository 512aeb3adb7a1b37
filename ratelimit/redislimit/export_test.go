package redislimit

import "time"

// SetLeaseLifetime sets how long leased tokens last, for a test, and
// returns what puts it back.
func SetLeaseLifetime(d time.Duration) (restore func()) {
	old := leaseLifetime
	leaseLifetime = d
	return func() { leaseLifetime = old }
}
