package coalesce_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/bulwark-go/bulwark/coalesce"
	"github.com/bulwark-go/bulwark/internal/testutil"
)

// BenchmarkLeader: calls that find no call in flight, one after the
// other, against the direct call.
func BenchmarkLeader(b *testing.B) {
	ctx := withKey(context.Background(), "k")
	c := coalesce.New(byKey)
	load := func(context.Context) (int, error) { return 1, nil }
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = testutil.Nop(ctx)
		}
	})
	b.Run("execute", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = c.Execute(ctx, testutil.Nop)
		}
	})
	b.Run("get", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = coalesce.Get(ctx, c, load)
		}
	})
}

// BenchmarkWaiters: one op is a call shared by a leader and 64 waiters,
// all of which receive its outcome.
func BenchmarkWaiters(b *testing.B) {
	const waiters = 64
	r := newSharedRound(coalesce.New(byKey), withKey(context.Background(), "k"), waiters)
	defer r.stop()
	b.ReportAllocs()
	for b.Loop() {
		r.run()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*(waiters+1)), "ns/caller")
}

// BenchmarkLeaderParallel: calls of distinct keys from every processor,
// none shared: the cost of the one lock all keys go through.
func BenchmarkLeaderParallel(b *testing.B) {
	c := coalesce.New(byKey)
	var n atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := withKey(context.Background(), "k"+strconv.FormatInt(n.Add(1), 10))
		for pb.Next() {
			_ = c.Execute(ctx, testutil.Nop)
		}
	})
}
