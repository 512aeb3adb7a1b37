package coalesce_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/coalesce"
	"github.com/bulwark-go/bulwark/fallback"
	"github.com/bulwark-go/bulwark/internal/testutil"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/stretchr/testify/assert"
)

// leadThenWait starts a leader with lead, waits until it runs, has a
// waiter call wait, releases the leader and returns what the waiter got.
func leadThenWait[T any](t *testing.T, lead func(ctx context.Context, release <-chan struct{}), wait func(ctx context.Context) (T, error)) (T, error) {
	t.Helper()
	ctx := withKey(context.Background(), "k")
	release := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { lead(ctx, release) })
	synctest.Wait()
	var v T
	var err error
	wg.Go(func() { v, err = wait(ctx) })
	synctest.Wait()
	close(release)
	wg.Wait()
	return v, err
}

// A waiter's Get receives the value only from a Get of the same type;
// otherwise ErrNoValue, never a silent zero. A waiter using bulwark.Get
// receives the value of a leader's coalesce.Get.
func TestWhatAWaiterReceives(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := coalesce.New(byKey)
		getInt := func(ctx context.Context, release <-chan struct{}) {
			_, _ = coalesce.Get(ctx, c, func(context.Context) (int, error) { <-release; return 42, nil })
		}
		execute := func(ctx context.Context, release <-chan struct{}) {
			_ = c.Execute(ctx, func(context.Context) error { <-release; return nil })
		}
		bulwarkGet := func(ctx context.Context, release <-chan struct{}) {
			_, _ = bulwark.Get(ctx, c, func(context.Context) (int, error) { <-release; return 42, nil })
		}
		waitInt := func(ctx context.Context) (int, error) {
			return coalesce.Get(ctx, c, func(context.Context) (int, error) { return -1, nil })
		}
		waitString := func(ctx context.Context) (string, error) {
			return coalesce.Get(ctx, c, func(context.Context) (string, error) { return "not run", nil })
		}
		waitBulwark := func(ctx context.Context) (int, error) {
			return bulwark.Get(ctx, c, func(context.Context) (int, error) { return -1, nil })
		}

		v, err := leadThenWait(t, getInt, waitInt)
		assert.NoError(t, err)
		assert.Equal(t, 42, v, "Get and Get")
		_, err = leadThenWait(t, getInt, waitString)
		assert.ErrorIs(t, err, coalesce.ErrNoValue, "another type")
		_, err = leadThenWait(t, execute, waitInt)
		assert.ErrorIs(t, err, coalesce.ErrNoValue, "Execute leads")
		_, err = leadThenWait(t, bulwarkGet, waitInt)
		assert.ErrorIs(t, err, coalesce.ErrNoValue, "bulwark.Get leads")
		v, err = leadThenWait(t, getInt, waitBulwark)
		assert.NoError(t, err)
		assert.Equal(t, 42, v, "bulwark.Get waits for coalesce.Get")
		v, err = leadThenWait(t, bulwarkGet, waitBulwark)
		assert.NoError(t, err)
		assert.Zero(t, v, "bulwark.Get on both sides: the outcome only")
	})
}

// In a pipeline, a fallback around the Coalesce serves every caller with
// bulwark.Supply, and a retry inside it retries the shared call once for
// all of them.
func TestInAPipeline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := coalesce.New(byKey)
		attempts := 0
		var mu sync.Mutex
		p := bulwark.New(
			fallback.New(func(ctx context.Context, err error) error {
				bulwark.Supply(ctx, "cached")
				return nil
			}),
			c,
			retry.New(retry.WithMaxAttempts(3)),
		)
		release := make(chan struct{})
		call := func(fail bool) func(ctx context.Context) (string, error) {
			return func(ctx context.Context) (string, error) {
				mu.Lock()
				attempts++
				n := attempts
				mu.Unlock()
				if n == 1 {
					<-release
				}
				if fail || n < 3 {
					return "", testutil.ErrDep
				}
				return "fresh", nil
			}
		}
		for _, fail := range []bool{false, true} {
			attempts = 0
			release = make(chan struct{})
			var wg sync.WaitGroup
			var got [5]string
			for i := range got {
				wg.Go(func() {
					v, err := coalesce.Get(withKey(context.Background(), "k"), p, call(fail))
					assert.NoError(t, err)
					got[i] = v
				})
			}
			synctest.Wait()
			close(release)
			wg.Wait()
			want := map[bool]string{false: "fresh", true: "cached"}[fail]
			for _, v := range got {
				assert.Equal(t, want, v)
			}
			assert.Equal(t, 3, attempts, "one retried call for all")
		}
	})
}
