package throttle

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/core"
	"github.com/bulwark-go/bulwark/internal/counter"
	"github.com/bulwark-go/bulwark/internal/observe"
	"github.com/bulwark-go/bulwark/internal/outcome"
	"github.com/bulwark-go/bulwark/internal/policyopt"
	"github.com/bulwark-go/bulwark/internal/window"
	"go.opentelemetry.io/otel/metric"
)

// ErrThrottled is matched, with errors.Is, by the local rejections of a
// Throttler, and matches bulwark.ErrRejected. It carries no retry hint: a
// throttled call may be tried again at once, and is admitted with the
// probability of that moment.
var ErrThrottled error = throttled{}

type throttled struct{}

func (throttled) Error() string   { return "bulwark/throttle: throttled locally" }
func (throttled) Is(t error) bool { return t == bulwark.ErrRejected }

// Throttler is the client-side throttling of Google's SRE book ("Handling
// Overload"): it rejects calls locally, before they reach a dependency
// that is refusing work, with probability
//
//	max(0, (requests − K·accepts) / (requests + 1))
//
// over a sliding window, capped by WithMaxRejection. With K = 2 the
// dependency receives about twice what it accepts. Execute is the method to
// call, or the Throttler as a stage of a bulwark pipeline; Probability
// reads the current probability. A Throttler is safe for concurrent use.
//
// Every call counts as a request when it starts (locally rejected ones
// included) and is then classified by the outcome table of the bulwark
// package doc: a success is an accept, a failure (an overload, an error, a
// timeout) a request not accepted, and an ignored call (the caller's
// cancellation, a local rejection from a policy inside, WithIgnoreIf, a
// panic) is taken out of the requests again.
//
// The zero value is ready to use and works as New() does: K 2, a 2-minute
// window, a 0.9 cap, no name. It reports its events through the global
// meter provider but exports no bulwark.calls series: New registers it.
type Throttler struct {
	k        float64 // 0 in the zero value: the defaults apply
	maxDrop  float64
	width    time.Duration // of a bucket
	rules    outcome.Rules
	name     string
	reporter core.Reporter
	rejected counter.Striped

	mu sync.Mutex
	// Requests and accepts by bucket of the wall clock's Unix time; made
	// by New, or by the first call of a zero Throttler.
	win window.Window
}

var (
	_ bulwark.Stage       = (*Throttler)(nil)
	_ bulwark.Inspectable = (*Throttler)(nil)
)

// The slots of a bucket's counts.
const (
	slotRequests = iota
	slotAccepts
)

const (
	buckets        = 10
	defaultK       = 2
	defaultWindow  = 2 * time.Minute
	defaultMaxDrop = 0.9
	kind           = "throttler"
)

// Option configures a Throttler.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	k       float64
	window  time.Duration
	maxDrop float64
	rules   outcome.Rules
	tel     policyopt.Telemetry
}

func panicf(option, format string, args ...any) {
	panic(fmt.Sprintf("bulwark/throttle: "+option+": "+format, args...))
}

// WithK is the SRE formula's K: how many requests per accepted one the
// dependency may receive before local rejection starts. Default: 2. It
// panics unless 1 <= k < +Inf.
func WithK(k float64) Option {
	if math.IsNaN(k) || math.IsInf(k, 0) || k < 1 {
		panicf("WithK", "k must be >= 1, got %v", k)
	}
	return optionFunc(func(c *config) { c.k = k })
}

// WithWindow is the span of history the throttler counts, in 10 buckets.
// Default: 2 minutes, as the SRE book suggests. It panics if d < 10ns.
func WithWindow(d time.Duration) Option {
	if d < buckets {
		panicf("WithWindow", "window must be >= 10ns, got %v", d)
	}
	return optionFunc(func(c *config) { c.window = d })
}

// WithMaxRejection caps the probability of local rejection, so that some
// calls still probe the dependency. Default: 0.9. It panics unless
// 0 < p < 1.
func WithMaxRejection(p float64) Option {
	if math.IsNaN(p) || p <= 0 || p >= 1 {
		panicf("WithMaxRejection", "p must be in (0, 1), got %v", p)
	}
	return optionFunc(func(c *config) { c.maxDrop = p })
}

// WithFailureIf decides which errors are failures of the dependency, that
// is requests not accepted; the errors it declines are accepts. It is
// asked after the caller's cancellation, local rejections
// (bulwark.ErrRejected) and WithIgnoreIf, which it cannot turn into
// failures. Default: every error not marked bulwark.Permanent is a
// failure, as the outcome table in the bulwark package doc says. It panics
// if pred is nil.
func WithFailureIf(pred func(err error) bool) Option {
	pred = outcome.FailureIf("throttle", pred)
	return optionFunc(func(c *config) { c.rules.FailureIf = pred })
}

// WithIgnoreIf marks errors that say nothing of the dependency's load (a
// bad request the client should never have sent, say): the throttler does
// not count them, not even as requests. Default: none beyond the caller's
// cancellation and local rejections, which are always ignored, as the
// outcome table in the bulwark package doc says. It panics if pred is nil.
func WithIgnoreIf(pred func(err error) bool) Option {
	pred = outcome.IgnoreIf("throttle", pred)
	return optionFunc(func(c *config) { c.rules.IgnoreIf = pred })
}

// WithName names the throttler in its events and metrics
// (bulwark.policy.name). Default: unnamed. It panics if name is empty.
func WithName(name string) Option {
	name = policyopt.Name("throttle", name)
	return optionFunc(func(c *config) { c.tel.Name = name })
}

// WithMeterProvider records the throttler's events and its bulwark.calls
// count of rejections through mp. Default: the global provider (and, for
// events, the pipeline's if it has one). It panics if mp is nil.
func WithMeterProvider(mp metric.MeterProvider) Option {
	mp = policyopt.MeterProvider("throttle", mp)
	return optionFunc(func(c *config) { c.tel.MeterProvider = mp })
}

// WithObserver adds an observer of the throttler's events. Default: none.
// It panics if o is nil.
func WithObserver(o bulwark.Observer) Option {
	o = policyopt.Observer("throttle", o)
	return optionFunc(func(c *config) { c.tel.Observers = append(c.tel.Observers, o) })
}

// New returns a Throttler configured by opts; nil options are ignored.
func New(opts ...Option) *Throttler {
	c := config{k: defaultK, window: defaultWindow, maxDrop: defaultMaxDrop}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	t := &Throttler{
		k: c.k, maxDrop: c.maxDrop, width: c.window / buckets, rules: c.rules,
		name: c.tel.Name, reporter: c.tel.Reporter(kind),
	}
	t.win.Init(t.width, buckets)
	observe.Calls(t.reporter, t, func(t *Throttler, _ outcome.Outcome) int64 { return t.rejected.Load() }, outcome.Rejected)
	return t
}

// zeroReporter reports for every zero Throttler: unnamed, through the
// global provider, as New() would.
var zeroReporter = sync.OnceValue(func() core.Reporter { return core.NewReporter(kind, "", nil) })

// params returns the throttler's settings, the defaults for the zero value.
func (t *Throttler) params() (k, maxDrop float64) {
	if t.k == 0 {
		return defaultK, defaultMaxDrop
	}
	return t.k, t.maxDrop
}

// Execute rejects the call locally with the current probability, with an
// error matching ErrThrottled and without running fn; otherwise it runs fn
// and counts its outcome. A panic in fn goes on unchanged, and is not
// counted.
func (t *Throttler) Execute(ctx context.Context, fn func(context.Context) error) error {
	return bulwark.RunStage(ctx, t, fn)
}

// ExecuteStage implements bulwark.Stage.
func (t *Throttler) ExecuteStage(ctx context.Context, next bulwark.Next) error {
	k, maxDrop := t.params()
	i, p := t.request(time.Now().UnixNano(), k, maxDrop)
	if p > 0 && rand.Float64() < p {
		t.rejected.Add(1)
		if r := t.reporterOrZero(); r.Listening(ctx, next) {
			r.Report(ctx, next, bulwark.Event{Type: bulwark.EventRejected, Err: ErrThrottled})
		}
		return ErrThrottled
	}
	returned := false
	defer func() {
		if !returned { // a panic says nothing of the dependency's load
			t.forget(i)
		}
	}()
	err := next.Run(ctx)
	returned = true
	if err == nil {
		t.accept()
		return nil
	}
	switch t.rules.Classify(ctx, err) {
	case outcome.Success:
		t.accept()
	case outcome.Ignored:
		t.forget(i)
	}
	return err
}

func (t *Throttler) reporterOrZero() core.Reporter {
	if t.reporter != nil {
		return t.reporter
	}
	return zeroReporter()
}

// request counts a request read at at (Unix ns) and returns the bucket it
// went to and the rejection probability of the window before it.
func (t *Throttler) request(at int64, k, maxDrop float64) (int64, float64) {
	t.mu.Lock()
	if !t.win.Ready() {
		t.win.Init(defaultWindow/buckets, buckets)
	}
	i, _ := t.win.Locate(at)
	s := t.win.Sum(i)
	t.win.Bucket(i)[slotRequests]++
	t.mu.Unlock()
	return i, probability(s[slotRequests], s[slotAccepts], k, maxDrop)
}

// probability is the SRE formula, capped. requests+1 >= 1, so p is never
// NaN, and plain comparisons clamp it.
func probability(requests, accepts int64, k, maxDrop float64) float64 {
	p := (float64(requests) - k*float64(accepts)) / float64(requests+1)
	return min(max(p, 0), maxDrop)
}

// accept counts an accept in the newest bucket, the one the latest request
// went to: never in the bucket of the call's start, whose slot of the ring
// a call longer than the window finds holding the current bucket (writing
// there reset it, and erased the requests it held). This needs no clock
// read: the newest bucket is no later than now, and holds no older slice
// of time than the call's start.
func (t *Throttler) accept() {
	t.mu.Lock()
	t.win.Newest()[slotAccepts]++
	t.mu.Unlock()
}

// forget takes back the request counted in bucket i, unless that bucket
// has since left the ring (the request then left the window with it).
func (t *Throttler) forget(i int64) {
	t.mu.Lock()
	if c := t.win.Get(i); c != nil && c[slotRequests] > 0 {
		c[slotRequests]--
	}
	t.mu.Unlock()
}

// Probability returns the current probability of local rejection.
func (t *Throttler) Probability() float64 {
	k, maxDrop := t.params()
	at := time.Now().UnixNano()
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.win.Ready() {
		return 0
	}
	i, _ := t.win.Locate(at)
	s := t.win.Sum(i)
	return probability(s[slotRequests], s[slotAccepts], k, maxDrop)
}

// Status returns the throttler's kind ("throttler"), name and the calls it
// rejected since it was built. It takes no lock.
func (t *Throttler) Status() bulwark.Status {
	return bulwark.Status{Kind: kind, Name: t.name, Rejected: t.rejected.Load()}
}
