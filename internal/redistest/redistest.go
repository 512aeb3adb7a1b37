// Package redistest runs a real redis-server for bulwark's tests: on a free
// loopback port, without persistence, stopped when the test ends. A test
// can freeze the server (SIGSTOP: it accepts connections and answers
// nothing, as a hung server does), thaw it, kill it and start a new one on
// the same port.
//
// Without /usr/bin/redis-server (or redis-server on PATH) a test skips
// with a message that says how to install it, except under CI=true, where
// it fails: CI must run the Redis tests.
package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Binary returns the path of redis-server, or "" if there is none.
func Binary() string {
	if _, err := os.Stat("/usr/bin/redis-server"); err == nil {
		return "/usr/bin/redis-server"
	}
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p
	}
	return ""
}

// Server is a redis-server process on 127.0.0.1.
type Server struct {
	Addr string // host:port
	Port int

	bin    string
	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	paused bool
}

// Start starts a redis-server on a free loopback port and stops it when t
// ends. It skips t when redis-server is missing, and fails it when CI is
// "true".
func Start(t testing.TB) *Server {
	t.Helper()
	bin := Binary()
	if bin == "" {
		msg := "redistest: redis-server not found (install it: apt-get install redis-server)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + "; CI=true, so the Redis tests must run")
		}
		t.Skip(msg)
	}
	var last error
	for range 5 {
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: no free port: %v", err)
		}
		s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Port: port, bin: bin}
		if last = s.start(); last == nil {
			t.Cleanup(s.Kill)
			return s
		}
	}
	t.Fatalf("redistest: could not start redis-server: %v", last)
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start runs redis-server on s.Port and waits until it answers PING.
func (s *Server) start() error {
	cmd := exec.Command(s.bin,
		"--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no",
		"--daemonize", "no", "--protected-mode", "yes", "--loglevel", "warning")
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ping(s.Addr) == nil {
			break
		}
		select {
		case <-exited:
			return errors.New("redis-server exited at start (port taken?)")
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			return errors.New("redis-server did not answer PING within 10s")
		}
	}
	s.mu.Lock()
	s.cmd, s.exited, s.paused = cmd, exited, false
	s.mu.Unlock()
	return nil
}

// ping sends PING on a fresh connection and reads +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
}

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		_ = s.cmd.Process.Signal(sig)
		s.paused = sig == syscall.SIGSTOP
	}
}

// Pause freezes the server with SIGSTOP: the kernel still accepts
// connections and buffers requests, but nothing answers, as with a hung
// server.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume thaws a paused server with SIGCONT.
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

// Kill kills the server (SIGKILL) and waits for it to exit. It does
// nothing if the server is not running.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, exited, paused := s.cmd, s.exited, s.paused
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	if paused {
		_ = cmd.Process.Signal(syscall.SIGCONT)
	}
	<-exited
}

// Restart starts a new, empty server on the same port, killing the old
// one first if it still runs.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Kill()
	var err error
	for range 50 { // the port may take a moment to be free again
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("redistest: could not restart redis-server on port %d: %v", s.Port, err)
}

// Client returns a go-redis client of the server, closed when t ends. The
// options start from go-redis's defaults with the address set; opt, when
// given, adjusts them.
func (s *Server) Client(t testing.TB, opt ...func(*redis.Options)) *redis.Client {
	t.Helper()
	o := &redis.Options{Addr: s.Addr}
	for _, f := range opt {
		f(o)
	}
	c := redis.NewClient(o)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// CommandStats returns the calls per command since the server started
// (or since the last CONFIG RESETSTAT), read from INFO commandstats:
// "evalsha", "get" ... Commands that scripts run are counted too.
func (s *Server) CommandStats(t testing.TB) map[string]int64 {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	defer c.Close()
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatalf("redistest: INFO commandstats: %v", err)
	}
	return ParseCommandStats(info)
}

// ResetStats clears the server's command statistics (CONFIG RESETSTAT).
func (s *Server) ResetStats(t testing.TB) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	defer c.Close()
	if err := c.ConfigResetStat(context.Background()).Err(); err != nil {
		t.Fatalf("redistest: CONFIG RESETSTAT: %v", err)
	}
}

// ParseCommandStats reads the calls per command from the text of INFO
// commandstats (lines "cmdstat_get:calls=3,usec=...").
func ParseCommandStats(info string) map[string]int64 {
	out := map[string]int64{}
	for _, line := range strings.Split(info, "\n") {
		line = strings.TrimSpace(line)
		name, rest, ok := strings.Cut(line, ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		for _, f := range strings.Split(rest, ",") {
			if v, ok := strings.CutPrefix(f, "calls="); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				out[strings.TrimPrefix(name, "cmdstat_")] = n
			}
		}
	}
	return out
}
