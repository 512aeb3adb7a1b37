// Command distributed runs two instances of a service that share one rate
// limit through Redis, and prints what each admitted. It uses the Redis at
// $BULWARK_REDIS_ADDR if set; otherwise it starts redis-server itself on a
// free loopback port, without persistence, and stops it when done.
//
//	go run ./examples/distributed
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/ratelimit/redislimit"
	"github.com/redis/go-redis/v9"
)

// The fleet's limit: 200 calls a second in bursts of 20, for both
// instances together.
const (
	limit  = 200
	burst  = 20
	period = time.Second
)

// errNoRedis says that no Redis was given and redis-server is not
// installed.
var errNoRedis = errors.New("redis-server not found and BULWARK_REDIS_ADDR not set (apt-get install redis-server)")

func main() {
	err := run(os.Stdout)
	if errors.Is(err, errNoRedis) && os.Getenv("CI") != "true" {
		fmt.Println("distributed: skipped:", err)
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "distributed:", err)
		os.Exit(1)
	}
}

func run(out io.Writer) error {
	addr, stop, err := redisAddr()
	if err != nil {
		return err
	}
	defer stop()

	// A prefix of this run's own, in case the Redis is shared.
	prefix := "example:distributed:" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
	type instance struct {
		name     string
		lim      *redislimit.Limiter
		admitted atomic.Int64
		rejected atomic.Int64
		degraded atomic.Int64
	}
	var instances []*instance
	for _, name := range []string{"instance-a", "instance-b"} {
		// Each instance has its own client, as separate processes would.
		client := redis.NewClient(&redis.Options{Addr: addr})
		defer client.Close()
		in := &instance{name: name}
		in.lim = redislimit.New(client, limit, burst, redislimit.WithPrefix(prefix), redislimit.WithName(name),
			// Should Redis be slow or away, each of the two instances
			// limits alone at half the limit, so that the fleet stays
			// near it.
			redislimit.WithLocalShare(0.5),
			redislimit.WithObserver(func(_ context.Context, e bulwark.Event) {
				if e.Type == redislimit.EventDegraded {
					in.degraded.Add(1)
				}
			}))
		instances = append(instances, in)
	}

	ctx := context.Background()
	start := time.Now()
	end := start.Add(period)
	var wg sync.WaitGroup
	for _, in := range instances {
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(end) {
					err := in.lim.Execute(ctx, func(context.Context) error { return nil })
					switch {
					case err == nil:
						in.admitted.Add(1)
					case errors.Is(err, ratelimit.ErrLimited):
						in.rejected.Add(1)
						d, _ := bulwark.RetryAfter(err)
						time.Sleep(min(d, 5*time.Millisecond))
					default:
						fmt.Fprintln(out, in.name, "error:", err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	elapsed := time.Since(start)

	var total int64
	for _, in := range instances {
		total += in.admitted.Load()
		fmt.Fprintf(out, "%s admitted %d, rejected %d\n", in.name, in.admitted.Load(), in.rejected.Load())
		if n := in.degraded.Load(); n > 0 {
			fmt.Fprintf(out, "%s limited alone for a while: Redis was late or away (%d degraded events)\n", in.name, n)
		}
	}
	fmt.Fprintf(out, "together admitted %d in %v: the shared limit allows %.0f (%d/s × %.2fs + burst %d)\n",
		total, elapsed.Round(time.Millisecond), limit*elapsed.Seconds()+burst, limit, elapsed.Seconds(), burst)
	return nil
}

// redisAddr returns the address of a Redis to use, and what stops it.
func redisAddr() (string, func(), error) {
	if addr := os.Getenv("BULWARK_REDIS_ADDR"); addr != "" {
		return addr, func() {}, nil
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if _, serr := os.Stat("/usr/bin/redis-server"); serr != nil {
			return "", nil, errNoRedis
		}
		bin = "/usr/bin/redis-server"
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c.Ping(context.Background()).Err() == nil {
			return addr, stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, errors.New("redis-server did not answer within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
