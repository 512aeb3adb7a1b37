package retry

import "github.com/bulwark-go/bulwark/internal/lintinfo"

// The description bulwark.Lint reads of a Retry: the zero Retry works as
// New() does.
func init() {
	lintinfo.Register(func(r *Retry) lintinfo.Info {
		if r.attempts == 0 {
			r = defaultRetry()
		}
		info := lintinfo.Info{Kind: "retry", MaxAttempts: r.attempts, MaxDuration: r.maxDuration}
		if r.delayFn != nil {
			return info
		}
		b := r.backoff
		b.jitter = JitterNone
		d := b.delay(1, 0, 0)
		if r.maxDelay > 0 {
			d = min(d, r.maxDelay)
		}
		least := d
		switch r.backoff.jitter {
		case JitterFull:
			least = 0
		case JitterEqual:
			least = d / 2
		}
		info.FirstDelay, info.MinFirstDelay, info.DelayKnown = d, least, true
		return info
	})
}
