package main

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestServesBothModesAndStopsWithItsInput(t *testing.T) {
	for _, mode := range []string{"bare", "wrapped"} {
		t.Run(mode, func(t *testing.T) {
			stopR, stopW := io.Pipe()
			outR, outW := io.Pipe()
			done := make(chan error, 1)
			go func() { done <- run(mode, "127.0.0.1:0", stopR, outW) }()
			url, err := bufio.NewReader(outR).ReadString('\n')
			require.NoError(t, err)
			resp, err := http.Get(strings.TrimSpace(url))
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, 200, resp.StatusCode)
			assert.Equal(t, "ok", string(body))
			http.DefaultClient.CloseIdleConnections()
			stopW.Close()
			assert.NoError(t, <-done)
		})
	}
	assert.ErrorContains(t, run("other", "127.0.0.1:0", strings.NewReader(""), io.Discard), "mode must be")
}
