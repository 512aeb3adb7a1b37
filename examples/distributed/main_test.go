package main

import (
	"context"
	"errors"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	redis.SetLogger(quiet{})
	goleak.VerifyTestMain(m)
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func TestTwoInstancesShareTheLimit(t *testing.T) {
	var out strings.Builder
	err := run(&out)
	if errors.Is(err, errNoRedis) {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	require.NoError(t, err)
	text := out.String()
	t.Log(text)
	var each []int
	for _, m := range regexp.MustCompile(`instance-[ab] admitted (\d+), rejected (\d+)`).FindAllStringSubmatch(text, -1) {
		n, _ := strconv.Atoi(m[1])
		each = append(each, n)
	}
	require.Len(t, each, 2)
	assert.Positive(t, each[0])
	assert.Positive(t, each[1])
	m := regexp.MustCompile(`together admitted (\d+) in .*allows (\d+)`).FindStringSubmatch(text)
	require.NotNil(t, m, text)
	total, _ := strconv.Atoi(m[1])
	allowed, _ := strconv.Atoi(m[2])
	assert.Equal(t, each[0]+each[1], total)
	if !strings.Contains(text, "limited alone for a while") {
		assert.LessOrEqual(t, total, allowed+1, "the two instances stay within one limit")
	} else {
		// A loaded machine made Redis late: the instances limited alone
		// for a while, each at half the limit, from a full local bucket
		// of half the burst each.
		assert.LessOrEqual(t, total, allowed+burst+1, "the two instances stay near one limit")
	}
	assert.Greater(t, total, allowed*8/10)
}
