package timeout

import "github.com/bulwark-go/bulwark/internal/lintinfo"

// The description bulwark.Lint reads of a Timeout.
func init() {
	lintinfo.Register(func(t *Timeout) lintinfo.Info {
		return lintinfo.Info{Kind: "timeout", Timeout: t.d, Dynamic: t.dynamic != nil, Abandon: t.abandon}
	})
}
