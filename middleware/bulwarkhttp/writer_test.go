package bulwarkhttp_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/middleware/bulwarkhttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// interfaces reports which optional interfaces w has.
func interfaces(w http.ResponseWriter) (flusher, hijacker, readerFrom, unwrapper bool) {
	_, flusher = w.(http.Flusher)
	_, hijacker = w.(http.Hijacker)
	_, readerFrom = w.(io.ReaderFrom)
	_, unwrapper = w.(interface{ Unwrap() http.ResponseWriter })
	return
}

func TestWriterHasExactlyTheWrappedInterfaces(t *testing.T) {
	type set struct{ f, h, r bool }
	var got, want set
	probe := bulwarkhttp.Middleware(&recorder{})(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		var u bool
		got.f, got.h, got.r, u = interfaces(w)
		assert.True(t, u, "Unwrap, for http.ResponseController")
	}))
	all := []struct {
		name string
		w    http.ResponseWriter
	}{
		{"plain", plainWriter{httptest.NewRecorder()}},
		{"recorder: Flusher", httptest.NewRecorder()},
		{"Hijacker", hijackWriter{plainWriter{httptest.NewRecorder()}}},
		{"ReaderFrom", readerFromWriter{plainWriter{httptest.NewRecorder()}}},
		{"Flusher, Hijacker", flushHijackWriter{httptest.NewRecorder()}},
		{"Flusher, ReaderFrom", flushReaderFromWriter{httptest.NewRecorder()}},
		{"Hijacker, ReaderFrom", hijackReaderFromWriter{plainWriter{httptest.NewRecorder()}}},
		{"all", allWriter{httptest.NewRecorder()}},
	}
	for _, tt := range all {
		want.f, want.h, want.r, _ = interfaces(tt.w)
		probe.ServeHTTP(tt.w, httptest.NewRequest("GET", "/", nil))
		assert.Equal(t, want, got, tt.name)
	}
}

type plainWriter struct{ w *httptest.ResponseRecorder }

func (p plainWriter) Header() http.Header         { return p.w.Header() }
func (p plainWriter) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p plainWriter) WriteHeader(code int)        { p.w.WriteHeader(code) }

type hijackWriter struct{ plainWriter }

func (hijackWriter) Hijack() (c net.Conn, b *bufio.ReadWriter, err error) { return nil, nil, nil }

type readerFromWriter struct{ plainWriter }

func (r readerFromWriter) ReadFrom(src io.Reader) (int64, error) { return io.Copy(r.w, src) }

type flushHijackWriter struct{ *httptest.ResponseRecorder }

func (flushHijackWriter) Hijack() (c net.Conn, b *bufio.ReadWriter, err error) { return nil, nil, nil }

type flushReaderFromWriter struct{ *httptest.ResponseRecorder }

func (r flushReaderFromWriter) ReadFrom(src io.Reader) (int64, error) {
	return io.Copy(r.ResponseRecorder, src)
}

type hijackReaderFromWriter struct{ plainWriter }

func (hijackReaderFromWriter) Hijack() (c net.Conn, b *bufio.ReadWriter, err error) {
	return nil, nil, nil
}
func (r hijackReaderFromWriter) ReadFrom(src io.Reader) (int64, error) { return io.Copy(r.w, src) }

type allWriter struct{ *httptest.ResponseRecorder }

func (allWriter) Hijack() (c net.Conn, b *bufio.ReadWriter, err error) { return nil, nil, nil }
func (r allWriter) ReadFrom(src io.Reader) (int64, error)              { return io.Copy(r.ResponseRecorder, src) }

func TestWriterOverRealServerHTTP1(t *testing.T) {
	srv := httptest.NewServer(bulwarkhttp.Middleware(&recorder{})(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		f, h, r, _ := interfaces(w)
		assert.True(t, f && h && r, "HTTP/1 writers flush, hijack and take ReadFrom")
		w.WriteHeader(204)
	})))
	defer srv.Close()
	code, _, _ := get(t, srv.Client(), srv.URL)
	assert.Equal(t, 204, code)
}

func TestWriterOverRealServerHTTP2HasNoHijacker(t *testing.T) {
	srv := httptest.NewUnstartedServer(bulwarkhttp.Middleware(&recorder{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, h, _, _ := interfaces(w)
		assert.Equal(t, 2, r.ProtoMajor)
		assert.True(t, f, "HTTP/2 writers flush")
		assert.False(t, h, "and cannot be hijacked: the wrapper does not pretend")
		w.WriteHeader(204)
	})))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	code, _, _ := get(t, srv.Client(), srv.URL)
	assert.Equal(t, 204, code)
}

func TestWriterStreamsServerSentEvents(t *testing.T) {
	next := make(chan struct{})
	srv := httptest.NewServer(bulwarkhttp.Middleware(&recorder{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			io.WriteString(w, "data: "+string(rune('a'+i))+"\n\n") //nolint:errcheck
			w.(http.Flusher).Flush()
			select {
			case <-next: // the client read this event before the next is written
			case <-r.Context().Done():
				return
			}
		}
	})))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for i := range 3 {
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		assert.Equal(t, "data: "+string(rune('a'+i))+"\n", line)
		_, err = br.ReadString('\n')
		require.NoError(t, err)
		next <- struct{}{}
	}
}

func TestWriterHijack(t *testing.T) {
	rec := &recorder{}
	served := make(chan struct{})
	mw := bulwarkhttp.Middleware(rec)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		conn, brw, err := w.(http.Hijacker).Hijack()
		require.NoError(t, err)
		defer conn.Close()
		brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked") //nolint:errcheck
		brw.Flush()                                                                                  //nolint:errcheck
	}))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(served)
		mw.ServeHTTP(w, r)
	}))
	defer srv.Close()
	code, body, _ := get(t, srv.Client(), srv.URL)
	assert.Equal(t, 200, code)
	assert.Equal(t, "hijacked", body)
	<-served
	errs, _ := rec.outcomes()
	assert.Equal(t, []error{nil}, errs, "a hijacked connection is the handler's success")
}

func TestWriterResponseController(t *testing.T) {
	srv := httptest.NewServer(bulwarkhttp.Middleware(&recorder{})(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		rc := http.NewResponseController(w)
		assert.NoError(t, rc.SetWriteDeadline(time.Now().Add(time.Minute)), "reached through Unwrap")
		assert.NoError(t, rc.SetReadDeadline(time.Now().Add(time.Minute)))
		assert.NoError(t, rc.EnableFullDuplex())
		io.WriteString(w, "x") //nolint:errcheck
		assert.NoError(t, rc.Flush())
	})))
	defer srv.Close()
	code, body, _ := get(t, srv.Client(), srv.URL)
	assert.Equal(t, 200, code)
	assert.Equal(t, "x", body)
}

func TestWriterReadFromRecordsStatus(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(bulwarkhttp.Middleware(rec)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n, err := w.(io.ReaderFrom).ReadFrom(strings.NewReader("copied"))
		assert.NoError(t, err)
		assert.Equal(t, int64(6), n)
	})))
	defer srv.Close()
	code, body, _ := get(t, srv.Client(), srv.URL)
	assert.Equal(t, 200, code)
	assert.Equal(t, "copied", body)
}
