package hedge_test

import (
	"context"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/budget"
	"github.com/bulwark-go/bulwark/hedge"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/stretchr/testify/assert"
)

// With nothing listening (no SDK, no recording span, no observer), a call
// whose hedge the budget refuses allocates its hedging state and the list
// of its failures: the event of the refusal is not even built.
func TestARefusedHedgeAllocatesNoEventWhenNothingListens(t *testing.T) {
	if testutil.Race {
		t.Skip("the race detector allocates on its own")
	}
	spent := budget.NewToken(2, 1)
	spent.RecordAttempt(false) // half the tokens: no hedge
	h := hedge.New(hedge.WithDelay(time.Hour), hedge.WithBudget(spent))
	ctx := context.Background()
	assert.Equal(t, 2.0, testing.AllocsPerRun(1000, func() { _ = h.Execute(ctx, testutil.Fail) }))
}
