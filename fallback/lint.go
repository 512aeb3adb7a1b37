package fallback

import "github.com/bulwark-go/bulwark/internal/lintinfo"

// The description bulwark.Lint reads of a Fallback. The zero Fallback
// handles nothing: it passes every outcome on, like no fallback at all.
func init() {
	lintinfo.Register(func(f *Fallback) lintinfo.Info {
		if f.fn == nil {
			return lintinfo.Info{}
		}
		return lintinfo.Info{Kind: "fallback", Selective: f.handles != nil}
	})
}
