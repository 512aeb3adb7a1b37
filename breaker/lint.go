package breaker

import "github.com/bulwark-go/bulwark/internal/lintinfo"

// The description bulwark.Lint reads of a Breaker.
func init() {
	lintinfo.Register(func(*Breaker) lintinfo.Info { return lintinfo.Info{Kind: "breaker"} })
}
