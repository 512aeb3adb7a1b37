package bulwark

import (
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark/internal/hook"
	"go.opentelemetry.io/otel/metric"
)

// Version is bulwark's version, given to OpenTelemetry as the
// instrumentation version of every meter bulwark creates.
const Version = "0.1.0"

func init() {
	hook.NewReporter = func(kind, name string, mp metric.MeterProvider, observers []Observer) any {
		return newReporter(kind, name, mp, observers...)
	}
	hook.Detach = func(n Next) Next { return Next{cur: n.cur} }
	hook.Inspect = inspect
	hook.Stages = stagesOf
	hook.Tap = tapPolicy
	hook.TapDuration = tapDuration
}

// stagesOf returns the policies of a pipeline, outermost first, with nested
// pipelines spliced in, as its calls pass them; the call-duration stages
// that WithCallDuration adds are bulwark's, not the user's, and are left
// out.
func stagesOf(p Policy) ([]Policy, bool) {
	pl, ok := p.(*Pipeline)
	if !ok || pl == nil {
		return nil, false
	}
	if pl.head == nil { // the zero Pipeline: no stages
		return nil, true
	}
	var out []Policy
	for n := pl.head.next; n != nil && n != terminal; n = n.next {
		switch s := n.stage.(type) {
		case *callDuration:
		case policyStage:
			out = append(out, s.p)
		default:
			out = append(out, s)
		}
	}
	return out, true
}

// tap is an observer added to a built policy's reporter; durationTap a
// function added to a built pipeline's call-duration stage. Their pointers
// identify them for removal.
type (
	tap         struct{ o Observer }
	durationTap struct {
		f func(start time.Time, took time.Duration)
	}
)

// tapsMu serialises the rare changes of tap lists, which are replaced
// whole and read without a lock.
var tapsMu sync.Mutex

func addTap[T any](list *atomic.Pointer[[]*T], t *T) (untap func()) {
	tapsMu.Lock()
	defer tapsMu.Unlock()
	var next []*T
	if old := list.Load(); old != nil {
		next = slices.Clone(*old)
	}
	next = append(next, t)
	list.Store(&next)
	return sync.OnceFunc(func() {
		tapsMu.Lock()
		defer tapsMu.Unlock()
		next := slices.DeleteFunc(slices.Clone(*list.Load()), func(x *T) bool { return x == t })
		if len(next) == 0 {
			list.Store(nil) // a reporter without taps is back to its three checks
			return
		}
		list.Store(&next)
	})
}

// tapPolicy adds o to the observers of p's reporter. Every bulwark policy
// keeps its reporter in a field of its struct, set when it is built, so
// the reporter is found there rather than through a method that every
// policy package would have to export. A policy built outside bulwark, or
// a zero-value policy not yet configured, has none: ok is false.
func tapPolicy(p Policy, o Observer) (untap func(), ok bool) {
	r := reporterOf(p)
	if r == nil {
		return nil, false
	}
	return addTap(&r.taps, &tap{o}), true
}

var reporterType = reflect.TypeFor[*reporter]()

// reporterOf returns the reporter held by a field of the struct p points
// to, nil if there is none.
func reporterOf(p Policy) *reporter {
	v := reflect.ValueOf(p)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	v = v.Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		if f.Kind() == reflect.Interface {
			if f.IsNil() {
				continue
			}
			f = f.Elem()
		}
		if f.Type() == reporterType && !f.IsNil() {
			// The field is unexported: reflect reads it but will not
			// hand it out as an interface, so its pointer is taken as is.
			return (*reporter)(f.UnsafePointer())
		}
	}
	return nil
}

// tapDuration adds f to the call-duration stage of a pipeline built with
// WithCallDuration, which measures every call already: f receives each
// call's start and duration.
func tapDuration(p Policy, f func(start time.Time, took time.Duration)) (untap func(), ok bool) {
	pl, isPipeline := p.(*Pipeline)
	if !isPipeline || pl == nil || !pl.cfg.callDuration || pl.head.next == nil {
		return nil, false
	}
	d, isDuration := pl.head.next.stage.(*callDuration)
	if !isDuration {
		return nil, false
	}
	return addTap(&d.taps, &durationTap{f}), true
}
