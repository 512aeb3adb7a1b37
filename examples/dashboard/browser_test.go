package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image/png"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var screenshot = flag.String("screenshot", "", "where TestDashboardInABrowser saves its screenshot (default: a temporary directory); the README's is ../../docs/dashboard.png")

// chromium returns the path of the browser, or skips the test without
// one, and fails it under CI, which must have it.
func chromium(t *testing.T) string {
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed: CI must install it (apt-get install chromium)")
	}
	t.Skip("chromium is not installed; install it (apt-get install chromium) to run the browser test")
	return ""
}

// consoleErrors collects what the page logs as an error: console.error,
// uncaught exceptions, and the browser's own log (failed loads, CSP
// violations).
type consoleErrors struct {
	mu   sync.Mutex
	msgs []string
}

func (c *consoleErrors) listen(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		var args []string
		for _, a := range ev.Args {
			args = append(args, a.Description+string(a.Value))
		}
		msg = "console." + string(ev.Type) + ": " + strings.Join(args, " ")
	case *runtime.EventExceptionThrown:
		msg = "exception: " + ev.ExceptionDetails.Text
		if ev.ExceptionDetails.Exception != nil {
			msg += " " + ev.ExceptionDetails.Exception.Description
		}
	case *cdplog.EventEntryAdded:
		if ev.Entry.Level != cdplog.EntryLevelError {
			return
		}
		msg = "log " + string(ev.Entry.Source) + ": " + ev.Entry.Text + " " + ev.Entry.URL
	default:
		return
	}
	c.mu.Lock()
	c.msgs = append(c.msgs, msg)
	c.mu.Unlock()
}

func (c *consoleErrors) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.msgs...)
}

// card selects the card of a policy in a state.
func card(name, state string) chromedp.CSS {
	return chromedp.CSS(fmt.Sprintf(`article.card[data-name=%q][data-state=%q]`, name, state))
}

// TestDashboardInABrowser loads the dashboard of the running example in
// headless Chromium, takes the inventory down and up again, and watches
// the inventory breaker's card open and close through live updates; then
// it isolates and resets the breaker with the keyboard alone, and checks
// that the page fits a phone and logged no error.
func TestDashboardInABrowser(t *testing.T) {
	exe := chromium(t)
	s, err := newSystem()
	require.NoError(t, err)
	srv := httptest.NewServer(s.mux())
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	loadCtx, stopLoad := context.WithCancel(ctx)
	var load sync.WaitGroup
	load.Go(func() { s.load(loadCtx, 4, 25*time.Millisecond) })
	defer func() { stopLoad(); load.Wait() }()

	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox, // CI runs as root in a container, where the sandbox cannot start
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)...)
	defer cancelAlloc()
	var errs consoleErrors
	browser, cancelBrowser := chromedp.NewContext(alloc, chromedp.WithListener(errs.listen))
	defer cancelBrowser()
	require.NoError(t, chromedp.Do(browser)) // starts the browser, with no deadline of its own

	const breaker = "checkout/inventory"
	// within runs a step with a deadline, so that a card that never
	// changes fails the test instead of hanging it.
	within := func(d time.Duration) context.Context {
		c, cancel := context.WithTimeout(browser, d)
		t.Cleanup(cancel)
		return c
	}
	do := func(d time.Duration, what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		require.NoError(t, chromedp.Do(within(d), steps...), what)
	}

	do(30*time.Second, "the dashboard loads and shows the breaker closed",
		chromedp.Navigate(srv.URL+"/debug/bulwark/"),
		chromedp.WaitVisible(card(breaker, "closed")),
		chromedp.WaitVisible(chromedp.CSS(`#conn[data-live="true"]`)),
	)
	_, err = chromedp.Run(within(30*time.Second), chromedp.Poll[bool](
		`document.querySelector('article.card[data-name="`+breaker+`"] polyline.s-success').points.length >= 4`))
	require.NoError(t, err, "a few seconds of healthy traffic, for the sparklines")

	s.inventory.setDown(true)
	do(20*time.Second, "the card shows the breaker open after the failures",
		chromedp.WaitVisible(card(breaker, "open")),
		chromedp.WaitVisible(chromedp.CSS(`#health[data-healthy="false"]`)),
	)
	_, err = chromedp.Run(within(20*time.Second), chromedp.Poll[bool](`(() => {
		const d = document.querySelector('article.card[data-name="`+breaker+`"][data-state="open"] dd[data-stat="rej"]');
		return d !== null && parseFloat(d.textContent) > 0;
	})()`))
	require.NoError(t, err, "the open breaker's rejections reach the page")
	shot, err := chromedp.Run(within(20*time.Second), chromedp.FullScreenshot(100))
	require.NoError(t, err)
	labels, err := chromedp.Run(within(5*time.Second), chromedp.Evaluate[[]string](
		`[...document.querySelectorAll('article.card[data-name="`+breaker+`"] dt')].map(e => e.textContent)`))
	require.NoError(t, err)
	assert.Equal(t, []string{"success/s", "failure/s", "rejected/s", "failure ratio", "next state in"}, labels,
		"the stats keep their order, whichever appeared first")
	// The bulkhead has room for every worker: it never rejects, and counts
	// nothing else.
	do(5*time.Second, "a policy that counted nothing draws no sparkline",
		chromedp.WaitVisible(chromedp.CSS(`article.card[data-name="checkout/bulkhead"] dd[data-stat="inflight"]`)),
		chromedp.WaitNotVisible(chromedp.CSS(`article.card[data-name="checkout/bulkhead"] svg.spark`)))

	s.inventory.setDown(false)
	do(20*time.Second, "the card shows the breaker closed after recovery",
		chromedp.WaitVisible(card(breaker, "closed")),
		chromedp.WaitVisible(chromedp.CSS(`#health[data-healthy="true"]`)),
	)
	transitions, err := chromedp.Run(within(5*time.Second), chromedp.Evaluate[[]string](
		`[...document.querySelectorAll('article.card[data-name="`+breaker+`"] li[data-type="state_change"] span')].map(e => e.textContent)`))
	require.NoError(t, err)
	require.NotEmpty(t, transitions)
	assert.True(t, strings.HasPrefix(transitions[0], "half-open → closed"), "newest first: %q", transitions)
	assert.Contains(t, transitions, "closed → open (consecutive failures)")

	// The keyboard alone: Tab to the breaker's Isolate button, Enter, and
	// the same for Reset, the button after it.
	isolate := `article.card[data-name="` + breaker + `"] button[data-action="isolate"]`
	focused := false
	for range 40 {
		do(5*time.Second, "Tab", chromedp.KeyEvent(kb.Tab))
		focused, err = chromedp.Run(within(5*time.Second), chromedp.Evaluate[bool](`document.activeElement.matches(`+quote(isolate)+`)`))
		require.NoError(t, err)
		if focused {
			break
		}
	}
	require.True(t, focused, "Tab reaches the Isolate button")
	do(10*time.Second, "Enter isolates the breaker",
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(card(breaker, "isolated")))
	do(10*time.Second, "Tab and Enter reset it",
		chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(card(breaker, "closed")))

	// A phone: the cards stack, nothing scrolls sideways.
	do(10*time.Second, "a phone's viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(3), chromedp.EmulateMobile))
	overflow, err := chromedp.Run(within(5*time.Second), chromedp.Evaluate[int](
		`document.documentElement.scrollWidth - document.documentElement.clientWidth`))
	require.NoError(t, err)
	assert.LessOrEqual(t, overflow, 0, "the page scrolls sideways on a phone")

	assert.Empty(t, errs.list(), "the page logged errors")

	img, err := png.Decode(bytes.NewReader(shot))
	require.NoError(t, err)
	assert.GreaterOrEqual(t, img.Bounds().Dx(), 1280)
	path := *screenshot
	if path == "" {
		path = filepath.Join(t.TempDir(), "dashboard.png")
	}
	require.NoError(t, os.WriteFile(path, shot, 0o644))
	t.Logf("screenshot: %s (%d bytes)", path, len(shot))

	require.NoError(t, chromedp.Cancel(browser)) // closes the browser and waits for it
}

// quote returns s as a JavaScript string literal.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }
