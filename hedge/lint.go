package hedge

import "github.com/bulwark-go/bulwark/internal/lintinfo"

// The description bulwark.Lint reads of a Hedge.
func init() {
	lintinfo.Register(func(*Hedge) lintinfo.Info { return lintinfo.Info{Kind: "hedge"} })
}
