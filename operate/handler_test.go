package operate_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/operate"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// post sends a control request to srv, with the control header if
// withHeader, and returns the status code.
func post(t *testing.T, srv *httptest.Server, name, action string, withHeader bool) int {
	t.Helper()
	req, err := http.NewRequest("POST", srv.URL+"/control", strings.NewReader(url.Values{"name": {name}, "action": {action}}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if withHeader {
		req.Header.Set(operate.ControlHeader, "1")
	}
	res, err := srv.Client().Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

func TestControlsIsolateResetAndDisableABreaker(t *testing.T) {
	b := breaker.New()
	r := operate.NewRegistry()
	require.NoError(t, r.Register("payments", b))
	require.NoError(t, r.Register("checkout", bulwark.New(retry.New(), breaker.New())))
	srv := httptest.NewServer(operate.Handler(r, operate.WithControls()))
	defer srv.Close()

	assert.Equal(t, http.StatusNoContent, post(t, srv, "payments", "isolate", true))
	assert.Equal(t, breaker.Isolated, b.State())
	assert.Equal(t, http.StatusNoContent, post(t, srv, "payments", "disable", true))
	assert.Equal(t, breaker.Disabled, b.State())
	assert.Equal(t, http.StatusNoContent, post(t, srv, "payments", "reset", true))
	assert.Equal(t, breaker.Closed, b.State())

	assert.Equal(t, http.StatusForbidden, post(t, srv, "payments", "isolate", false),
		"a request without the header, as a cross-site form sends, is refused")
	assert.Equal(t, breaker.Closed, b.State())
	assert.Equal(t, http.StatusNotFound, post(t, srv, "nobody", "isolate", true))
	assert.Equal(t, http.StatusBadRequest, post(t, srv, "payments", "explode", true))
	assert.Equal(t, http.StatusBadRequest, post(t, srv, "checkout/retry", "isolate", true), "a retry has no controls")
	assert.Equal(t, http.StatusNoContent, post(t, srv, "checkout/breaker", "isolate", true), "a pipeline's breaker has")

	res, err := srv.Client().Get(srv.URL + "/control")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, res.StatusCode)
}

func TestControlsAreOffByDefault(t *testing.T) {
	b := breaker.New()
	r := operate.NewRegistry()
	require.NoError(t, r.Register("payments", b))
	srv := httptest.NewServer(operate.Handler(r))
	defer srv.Close()
	assert.Equal(t, http.StatusNotFound, post(t, srv, "payments", "isolate", true))
	assert.Equal(t, breaker.Closed, b.State())
	s := getStatus(t, operate.Handler(r))
	assert.Empty(t, s.Policies[0].Actions, "the page shows no buttons")
	s = getStatus(t, operate.Handler(r, operate.WithControls()))
	assert.Equal(t, []string{"isolate", "reset", "disable"}, s.Policies[0].Actions)
}

func TestTheDashboardIsOneSelfContainedPage(t *testing.T) {
	h := operate.Handler(operate.NewRegistry())
	get := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		require.Equal(t, http.StatusOK, rec.Code)
		return rec
	}
	rec := get()
	assert.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
	csp := rec.Header().Get("Content-Security-Policy")
	m := regexp.MustCompile(`script-src 'nonce-([A-Za-z0-9+/]{22})'`).FindStringSubmatch(csp)
	require.NotNil(t, m, csp)
	assert.Contains(t, csp, "default-src 'none'")
	assert.Contains(t, csp, "connect-src 'self'")
	body := rec.Body.String()
	assert.Contains(t, body, `<script nonce="`+m[1]+`">`)
	assert.Contains(t, body, `<style nonce="`+m[1]+`">`)
	assert.NotContains(t, body, "{{nonce}}")
	assert.Contains(t, body, `name="viewport"`, "readable on a phone")
	assert.NotRegexp(t, `(src|href)\s*=\s*["']?(https?:)?//`, body, "no external asset")
	assert.NotContains(t, get().Header().Get("Content-Security-Policy"), m[1], "a nonce per response")

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/nothing", nil))
	assert.Equal(t, http.StatusNotFound, rec.Code)
}

func TestHandlerMountsUnderAPrefix(t *testing.T) {
	r := operate.NewRegistry()
	require.NoError(t, r.Register("payments", breaker.New()))
	mux := http.NewServeMux()
	mux.Handle("/debug/bulwark/", http.StripPrefix("/debug/bulwark", operate.Handler(r)))
	for _, path := range []string{"/debug/bulwark/", "/debug/bulwark/status", "/debug/bulwark/healthz"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		assert.Equal(t, http.StatusOK, rec.Code, path)
	}
	// The address without the slash is sent to the page's, whose relative
	// addresses then resolve under the prefix (301 before Go 1.26, 307 since).
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/debug/bulwark", nil))
	assert.Contains(t, []int{http.StatusMovedPermanently, http.StatusTemporaryRedirect}, rec.Code)
	assert.Equal(t, "/debug/bulwark/", rec.Header().Get("Location"))
}

func TestHandlerPanicsWithoutARegistry(t *testing.T) {
	assert.PanicsWithValue(t, "bulwark/operate: Handler: registry must not be nil", func() { operate.Handler(nil) })
	assert.NotPanics(t, func() { operate.Handler(operate.NewRegistry(), nil) }, "nil options are ignored")
}
