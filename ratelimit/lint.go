package ratelimit

import "github.com/bulwark-go/bulwark/internal/lintinfo"

// The descriptions bulwark.Lint reads of the limiters.
func init() {
	lintinfo.Register(func(*Limiter) lintinfo.Info { return lintinfo.Info{Kind: kind} })
	lintinfo.Register(func(*Keyed) lintinfo.Info { return lintinfo.Info{Kind: kind} })
	lintinfo.Register(func(*SlidingWindow) lintinfo.Info { return lintinfo.Info{Kind: kind} })
}
