package operate

import (
	"bytes"
	"crypto/rand"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Option configures a Handler.
type Option interface{ apply(*config) }

type config struct {
	controls bool
	interval time.Duration
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithControls serves POST /control, which isolates, resets or disables a
// registered breaker, and shows the buttons on the dashboard. It is an
// admin surface: serve it only behind the application's own
// authentication, on an internal listener. Requests must carry the
// header X-Bulwark-Control, which a page of another origin cannot send
// without a CORS preflight that this handler never grants, so a
// cross-site form or script cannot press the buttons (CSRF). Default: off,
// and /control does not exist.
func WithControls() Option { return optionFunc(func(c *config) { c.controls = true }) }

// Bounds of WithInterval: a dashboard is for eyes, a few frames a second.
const (
	minInterval = 100 * time.Millisecond
	maxInterval = time.Minute
)

// WithInterval sets how often /events sends the status to each client.
// Default: 500ms. It panics if d is outside [100ms, 1m].
func WithInterval(d time.Duration) Option {
	if d < minInterval || d > maxInterval {
		panic(fmt.Sprintf("bulwark/operate: WithInterval: interval must be in [%v, %v], got %v", minInterval, maxInterval, d))
	}
	return optionFunc(func(c *config) { c.interval = d })
}

// ControlHeader is the header a POST /control request must carry (with any
// non-empty value): the check that makes the controls CSRF-safe.
const ControlHeader = "X-Bulwark-Control"

// Handler serves the registry's dashboard and status, to mount anywhere:
//
//	mux.Handle("/debug/bulwark/", http.StripPrefix("/debug/bulwark", operate.Handler(reg)))
//
// It serves GET / (the dashboard, a single page that needs nothing else),
// GET /status (JSON), GET /events (server-sent events: the /status
// document at each interval), GET /healthz (200 or 503, JSON; ?verbose
// lists every policy) and, with WithControls, POST /control. The page uses
// relative addresses, so mount it at a path that ends in a slash. Nil
// options are ignored; it panics if r is nil.
//
// Handler starts no goroutine: an /events stream runs on its request's
// goroutine and ends with the request. http.Server.Shutdown waits for open
// streams without ending their requests: give the server a BaseContext
// that ends when it shuts down (as examples/dashboard does), or Close it.
func Handler(r *Registry, opts ...Option) http.Handler {
	if r == nil {
		panic("bulwark/operate: Handler: registry must not be nil")
	}
	c := config{interval: 500 * time.Millisecond}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	h := &handler{reg: r, cfg: c}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.dashboard)
	mux.HandleFunc("GET /status", h.status)
	mux.HandleFunc("GET /events", h.events)
	mux.HandleFunc("GET /healthz", h.healthz)
	if c.controls {
		mux.HandleFunc("POST /control", h.control)
	}
	return mux
}

type handler struct {
	reg *Registry
	cfg config
}

//go:embed dashboard.html
var page string

// The page carries its script and style inline, allowed by a nonce made
// per response, so that its Content-Security-Policy forbids every other
// script, style and connection.
const nonceMark = "{{nonce}}"

func (h *handler) dashboard(w http.ResponseWriter, _ *http.Request) {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	nonce := base64.RawStdEncoding.EncodeToString(b[:])
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; style-src 'nonce-"+nonce+
		"'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	_, _ = strings.NewReplacer(nonceMark, nonce).WriteString(w, page)
}

func (h *handler) status(w http.ResponseWriter, _ *http.Request) {
	b, err := json.MarshalIndent(h.reg.snapshot(time.Now(), h.cfg.controls), "", "  ")
	writeJSON(w, http.StatusOK, b, err)
}

func (h *handler) healthz(w http.ResponseWriter, r *http.Request) {
	_, verbose := r.URL.Query()["verbose"]
	doc := h.reg.health(verbose)
	code := http.StatusOK
	if doc.Status != "ok" {
		code = http.StatusServiceUnavailable
	}
	b, err := json.Marshal(doc)
	writeJSON(w, code, b, err)
}

func writeJSON(w http.ResponseWriter, code int, b []byte, err error) {
	if err != nil { // the documents hold only strings, numbers and times
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

// events streams the status document as server-sent events, one "status"
// event at once and one at each interval, until the client goes.
func (h *handler) events(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	// A server's write timeout would cut the stream: this response has
	// none (an error means the writer cannot tell, and is ignored).
	_ = rc.SetWriteDeadline(time.Time{})
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no") // a proxy that buffers would hold the stream back
	w.WriteHeader(http.StatusOK)

	var buf bytes.Buffer
	send := func() bool {
		b, err := json.Marshal(h.reg.snapshot(time.Now(), h.cfg.controls))
		if err != nil {
			return false
		}
		buf.Reset()
		buf.WriteString("event: status\ndata: ")
		buf.Write(b) // compact JSON holds no newline
		buf.WriteString("\n\n")
		if _, err := w.Write(buf.Bytes()); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send() {
		return
	}
	t := time.NewTicker(h.cfg.interval)
	defer t.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-t.C:
			if !send() {
				return
			}
		}
	}
}

// control applies an action of the dashboard to a registered breaker:
// POST /control with the form values name and action (isolate, reset or
// disable), and the ControlHeader. It answers 204, or 403 without the
// header, 404 for an unknown name, 400 for an unknown action or a policy
// without controls.
func (h *handler) control(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get(ControlHeader) == "" {
		http.Error(w, "bulwark/operate: a control request must carry the "+ControlHeader+" header", http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bulwark/operate: "+err.Error(), http.StatusBadRequest)
		return
	}
	name, action := r.Form.Get("name"), r.Form.Get("action")
	e := h.reg.lookup(name)
	switch {
	case e == nil:
		http.Error(w, "bulwark/operate: no policy "+fmt.Sprintf("%q", name), http.StatusNotFound)
		return
	case e.control == nil:
		http.Error(w, "bulwark/operate: policy "+fmt.Sprintf("%q", name)+" has no controls", http.StatusBadRequest)
		return
	}
	switch action {
	case "isolate":
		e.control.Isolate()
	case "reset":
		e.control.Reset()
	case "disable":
		e.control.Disable()
	default:
		http.Error(w, "bulwark/operate: unknown action "+fmt.Sprintf("%q", action)+": want isolate, reset or disable", http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// lookup returns the entry registered as name, nil if there is none.
func (r *Registry) lookup(name string) *entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.policies {
		if e.name == name {
			return e
		}
	}
	return nil
}
