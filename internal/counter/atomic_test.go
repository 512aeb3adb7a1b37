package counter_test

import "sync/atomic"

func atomicAdd(p *int64) { atomic.AddInt64(p, 1) }
