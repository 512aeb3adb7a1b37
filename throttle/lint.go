package throttle

import "github.com/bulwark-go/bulwark/internal/lintinfo"

// The description bulwark.Lint reads of a Throttler.
func init() {
	lintinfo.Register(func(*Throttler) lintinfo.Info { return lintinfo.Info{Kind: kind} })
}
