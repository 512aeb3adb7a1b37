package bulkhead

import "github.com/bulwark-go/bulwark/internal/lintinfo"

// The descriptions bulwark.Lint reads of a Bulkhead and an Adaptive.
func init() {
	lintinfo.Register(func(*Bulkhead) lintinfo.Info { return lintinfo.Info{Kind: "bulkhead"} })
	lintinfo.Register(func(*Adaptive) lintinfo.Info { return lintinfo.Info{Kind: "adaptive"} })
}
