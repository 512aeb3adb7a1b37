package chaos

import (
	"context"
	"errors"
	"math"
	"math/bits"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/core"
	"github.com/bulwark-go/bulwark/internal/counter"
	"github.com/bulwark-go/bulwark/internal/observe"
	"github.com/bulwark-go/bulwark/internal/outcome"
)

// EventInjected is the event type of every injected fault ("injected"):
// Event.Reason says which ("error", "latency", "panic", "outcome"),
// Event.Delay is an injected delay, Event.Err an injected error or the
// outcome an outcome function returned.
var EventInjected = bulwark.NewEventType("injected")

// ErrPanic is the value an injected panic panics with. A recovering
// policy (fallback.WithRecover) hands it on wrapped, so errors.Is finds it.
var ErrPanic = errors.New("bulwark/chaos: injected panic")

// A Chaos injects faults into the calls it protects, while it is enabled:
// errors (WithError), delays (WithLatency), panics (WithPanic) and
// replaced outcomes (WithOutcome), each in a share of the calls. It is
// enabled for every call by SetEnabled(true), for one call by a context
// from Enable, or for the calls a WithEnabled predicate picks; disabled,
// it runs the call and costs two atomic loads (and, once Enable has been
// used, a context lookup): see the package doc.
//
// Build a Chaos with New and put it in a pipeline where the fault should
// appear to come from: innermost, it plays the dependency. Status and
// Snapshot count the faults injected.
//
// The zero Chaos injects nothing: it runs every call, enabled or not. A
// Chaos is safe for concurrent use by multiple goroutines.
type Chaos struct {
	on   atomic.Bool
	when func(context.Context) bool

	delays []delayFault // cumulative shares of [0, 1)
	aborts []abortFault // cumulative shares of [0, 1)

	mu  sync.Mutex // guards pcg
	pcg *rand.PCG  // nil: unseeded

	reporter core.Reporter
	name     string
	counts   counter.Striped // injected faults, by kind
	delaying atomic.Int64    // calls held in an injected delay now
}

var (
	_ bulwark.Stage       = (*Chaos)(nil)
	_ bulwark.Inspectable = (*Chaos)(nil)
)

// kind is a kind of fault, and its slot in Chaos.counts.
type kind uint8

const (
	kindError kind = iota
	kindLatency
	kindPanic
	kindOutcome
)

var kindNames = [counter.Slots]string{"error", "latency", "panic", "outcome"}

func (k kind) String() string { return kindNames[k] }

// share is a fault's place in the partition of [0, 1) its kind of fault
// shares: the fault is picked when the draw is below lim, or always.
type share struct {
	lim    uint64
	always bool
}

func (s share) picks(u uint64) bool { return s.always || u < s.lim }

// delayFault is one WithLatency.
type delayFault struct {
	rate      float64
	share     share
	d, jitter time.Duration
}

// abortFault is one WithError, WithPanic or WithOutcome: at most one of
// them happens to a call, so they share one draw.
type abortFault struct {
	kind    kind
	rate    float64
	share   share
	err     error
	outcome func(context.Context, error) error
}

// New returns a Chaos that injects the faults opts configure. It starts
// disabled: call SetEnabled, or enable calls with Enable or WithEnabled.
// The delays of WithLatency share one draw per call, so their rates may
// add up to 1 at most; so may the rates of WithError, WithPanic and
// WithOutcome, of which at most one happens to a call. A call may be
// delayed and then fail. New panics if either sum passes 1, naming the
// options.
func New(opts ...Option) *Chaos {
	var cfg config
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	c := &Chaos{
		delays:   cfg.delays,
		aborts:   cfg.aborts,
		reporter: cfg.tel.Reporter("chaos"),
		name:     cfg.tel.Name,
	}
	cum := 0.0
	for i := range c.delays {
		cum += c.delays[i].rate
		c.delays[i].share = shareOf(cum, "WithLatency", "the rates of WithLatency")
	}
	cum = 0
	for i := range c.aborts {
		cum += c.aborts[i].rate
		c.aborts[i].share = shareOf(cum, c.aborts[i].kind.option(), "the rates of WithError, WithPanic and WithOutcome")
	}
	switch len(cfg.when) {
	case 0:
	case 1:
		c.when = cfg.when[0]
	default:
		preds := cfg.when
		c.when = func(ctx context.Context) bool {
			for _, p := range preds {
				if p(ctx) {
					return true
				}
			}
			return false
		}
	}
	if cfg.seeded {
		c.pcg = rand.NewPCG(cfg.seed, pcgStream)
	}
	observe.Calls(c.reporter, c, func(c *Chaos, _ outcome.Outcome) int64 { return c.failures() }, outcome.Failure)
	return c
}

// pcgStream is the second half of the seed: a fixed odd constant, so that
// WithSeed takes one number.
const pcgStream = 0x9e3779b97f4a7c15

func (k kind) option() string {
	switch k {
	case kindError:
		return "WithError"
	case kindPanic:
		return "WithPanic"
	case kindOutcome:
		return "WithOutcome"
	}
	return "WithLatency"
}

// shareOf returns the share that ends at cum, the sum of the rates so far.
// The sums are of float64s, so a sum a rounding above 1 counts as 1.
func shareOf(cum float64, option, what string) share {
	const tolerance = 1e-9
	switch {
	case cum > 1+tolerance:
		panicf(option, "%s add up to %v, more than 1", what, cum)
	case cum >= 1:
		return share{always: true}
	}
	return share{lim: uint64(math.Ldexp(cum, 64))}
}

// SetEnabled switches injection on or off for every call. Enable and the
// WithEnabled predicates switch it on for some calls while it is off.
func (c *Chaos) SetEnabled(on bool) { c.on.Store(on) }

// Enabled reports whether SetEnabled switched injection on for every call.
func (c *Chaos) Enabled() bool { return c.on.Load() }

// Execute runs fn, injecting faults if the call is enabled.
func (c *Chaos) Execute(ctx context.Context, fn func(context.Context) error) error {
	return bulwark.RunStage(ctx, c, fn)
}

// ExecuteStage implements bulwark.Stage.
func (c *Chaos) ExecuteStage(ctx context.Context, next bulwark.Next) error {
	if !c.on.Load() && !enabledByContext(ctx) && (c.when == nil || !c.when(ctx)) {
		return next.Run(ctx)
	}
	return c.inject(ctx, next)
}

// decision is what happens to one call.
type decision struct {
	delayed bool
	delay   time.Duration
	abort   int // index in aborts, -1 for none
}

func (c *Chaos) inject(ctx context.Context, next bulwark.Next) error {
	if len(c.delays) == 0 && len(c.aborts) == 0 {
		return next.Run(ctx)
	}
	var dec decision
	if c.pcg != nil {
		c.mu.Lock()
		dec = c.decide(c.pcg)
		c.mu.Unlock()
	} else {
		dec = c.decide(runtimeSource{})
	}
	if dec.delayed {
		c.counts.AddAt(int(kindLatency), 1)
		c.report(ctx, next, bulwark.Event{Reason: kindLatency.String(), Delay: dec.delay})
		if err := c.wait(ctx, dec.delay); err != nil {
			return err
		}
	}
	if dec.abort < 0 {
		return next.Run(ctx)
	}
	f := &c.aborts[dec.abort]
	switch f.kind {
	case kindError:
		c.counts.AddAt(int(kindError), 1)
		c.report(ctx, next, bulwark.Event{Reason: kindError.String(), Err: f.err})
		return f.err
	case kindPanic:
		c.counts.AddAt(int(kindPanic), 1)
		c.report(ctx, next, bulwark.Event{Reason: kindPanic.String(), Err: ErrPanic})
		panic(ErrPanic)
	}
	err := f.outcome(ctx, next.Run(ctx))
	c.counts.AddAt(int(kindOutcome), 1)
	c.report(ctx, next, bulwark.Event{Reason: kindOutcome.String(), Err: err})
	return err
}

// source is a generator of uniform 64-bit numbers.
type source interface{ Uint64() uint64 }

// runtimeSource is math/rand/v2's per-thread generator: no lock.
type runtimeSource struct{}

func (runtimeSource) Uint64() uint64 { return rand.Uint64() }

// decide draws a call's decision: one number for the delay, one more for
// its jitter when it has one, one for the abort, always in that order, so
// that a seed gives one sequence.
func (c *Chaos) decide(src source) decision {
	dec := decision{abort: -1}
	if len(c.delays) > 0 {
		u := src.Uint64()
		for i := range c.delays {
			if f := &c.delays[i]; f.share.picks(u) {
				dec.delayed, dec.delay = true, jittered(src, f.d, f.jitter)
				break
			}
		}
	}
	if len(c.aborts) > 0 {
		u := src.Uint64()
		for i := range c.aborts {
			if c.aborts[i].share.picks(u) {
				dec.abort = i
				break
			}
		}
	}
	return dec
}

// jittered returns d plus a jitter drawn uniformly from [-jitter, jitter],
// saturated at math.MaxInt64. It requires 0 <= jitter <= d.
func jittered(src source, d, jitter time.Duration) time.Duration {
	if jitter == 0 {
		return d
	}
	v := uint64(d-jitter) + uint64n(src, 2*uint64(jitter)+1)
	if v > math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(v)
}

// uint64n returns a uniform number in [0, n), n > 0, by Lemire's
// multiply-and-reject method: written here so that a seed's sequence
// depends on the PCG generator alone.
func uint64n(src source, n uint64) uint64 {
	hi, lo := bits.Mul64(src.Uint64(), n)
	if lo < n {
		thresh := -n % n
		for lo < thresh {
			hi, lo = bits.Mul64(src.Uint64(), n)
		}
	}
	return hi
}

// wait holds the call for d, or until ctx is done, and then returns
// ctx.Err().
func (c *Chaos) wait(ctx context.Context, d time.Duration) error {
	c.delaying.Add(1)
	defer c.delaying.Add(-1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Chaos) report(ctx context.Context, next bulwark.Next, e bulwark.Event) {
	if c.reporter.Listening(ctx, next) {
		e.Type = EventInjected
		c.reporter.Report(ctx, next, e)
	}
}

func (c *Chaos) failures() int64 {
	return c.counts.LoadAt(int(kindError)) + c.counts.LoadAt(int(kindPanic)) + c.counts.LoadAt(int(kindOutcome))
}

// Snapshot is what a Chaos has done since it was built.
type Snapshot struct {
	Enabled bool // SetEnabled's switch

	// Faults injected, by kind.
	Errors, Latencies, Panics, Outcomes int64

	// Delaying is the number of calls held in an injected delay now.
	Delaying int
}

// Snapshot returns the faults injected so far, by kind, and the calls
// being delayed. It takes no lock.
func (c *Chaos) Snapshot() Snapshot {
	return Snapshot{
		Enabled:   c.on.Load(),
		Errors:    c.counts.LoadAt(int(kindError)),
		Latencies: c.counts.LoadAt(int(kindLatency)),
		Panics:    c.counts.LoadAt(int(kindPanic)),
		Outcomes:  c.counts.LoadAt(int(kindOutcome)),
		Delaying:  int(c.delaying.Load()),
	}
}

// Status returns the Chaos's state in the shape every policy shares: Kind
// "chaos", its Name; State "enabled" or "disabled" (SetEnabled's switch:
// calls enabled by Enable or WithEnabled do not change it); Failures the
// faults that changed a call's outcome (injected errors, panics and
// outcomes, the bulwark.calls series with outcome "failure"); InFlight the
// calls held in an injected delay now. The injected delays so far, and
// each kind's count, are in Snapshot. It takes no lock and allocates
// nothing.
func (c *Chaos) Status() bulwark.Status {
	state := "disabled"
	if c.on.Load() {
		state = "enabled"
	}
	return bulwark.Status{
		Kind:     "chaos",
		Name:     c.name,
		State:    state,
		Failures: c.failures(),
		InFlight: int(c.delaying.Load()),
	}
}
