package ratelimit

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The number of locks follows the bound on keys, as the package doc says:
// one below 1024, 16 from 1024 on, the default bound among them.
func TestKeyedLocksFollowTheBound(t *testing.T) {
	key := func(context.Context) string { return "" }
	for _, c := range []struct {
		opts  []KeyedOption
		locks int
	}{
		{nil, 16},
		{[]KeyedOption{WithMaxKeys(1)}, 1},
		{[]KeyedOption{WithMaxKeys(1023)}, 1},
		{[]KeyedOption{WithMaxKeys(1024)}, 16},
		{[]KeyedOption{WithMaxKeys(1 << 30)}, 16},
	} {
		assert.Len(t, NewKeyed(1, 1, key, c.opts...).shards, c.locks, "%v", c.opts)
	}
}
