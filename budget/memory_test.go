package budget_test

import (
	"runtime"
	"testing"

	"github.com/bulwark-go/bulwark/budget"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/stretchr/testify/assert"
)

func TestBytesPerBudget(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	tk := otest.HeapPerInstance(20000, func() *budget.Token { return budget.NewToken(10, 0.1) })
	r := otest.HeapPerInstance(20000, func() *budget.Ratio { return budget.NewRatio(0.1, 0) })
	rf := otest.HeapPerInstance(20000, func() *budget.Ratio { return budget.NewRatio(0.1, 5) })
	t.Logf("Token: %.0f bytes; Ratio: %.0f bytes, %.0f with a minimum rate", tk, r, rf)
	assert.LessOrEqual(t, tk, 64.0)
	assert.LessOrEqual(t, r, 64.0)
	assert.LessOrEqual(t, rf, 160.0)
}

func TestDroppedBudgetsAreCollected(t *testing.T) {
	assert.True(t, otest.Collected(func() *budget.Token { return budget.NewToken(10, 0.1) }, func(b *budget.Token) {
		budget.NewShare(b).Budget().TryRetry()
	}))
	assert.True(t, otest.Collected(func() *budget.Ratio { return budget.NewRatio(0.1, 1) }, func(b *budget.Ratio) {
		b.RecordRequest()
		b.TryRetry()
	}))
}
