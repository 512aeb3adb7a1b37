package bulwark

import (
	"fmt"

	"github.com/bulwark-go/bulwark/internal/lintinfo"
)

// Finding is an order of policies in a pipeline that cannot work as
// written, as Lint reports it.
type Finding struct {
	// Rule names the order found: "timeout-per-attempt-outside-retry",
	// "timeout-shorter-than-retry-delay", "retry-inside-breaker",
	// "bulkhead-outside-abandoning-timeout", "fallback-inside-retry" or
	// "hedge-outside-bulkhead".
	Rule string
	// Policies are the positions of the policies involved, outermost
	// first, counted from 0 in the pipeline with nested pipelines spliced
	// in, as New counts them.
	Policies []int
	// What says what is where; Why, why it does not work and what to do.
	What, Why string
}

// String returns the finding's What and Why.
func (f Finding) String() string { return f.What + ": " + f.Why }

// Lint reports the orders of bulwark's policies in p that cannot work as
// written, outermost first:
//
//   - a timeout meant for each attempt outside the retry: a shorter
//     timeout between a retry and a longer timeout (a timeout outside a
//     retry bounds the whole call, so the longer one never fires);
//   - a timeout outside a retry (or the retry's own WithMaxDuration) no
//     longer than the retry's first delay, before jitter: the retry gives
//     up on waits that do not fit, so it (almost) never retries;
//   - a retry inside a breaker: the breaker sees one outcome per call,
//     however many attempts failed;
//   - a bulkhead outside a timeout built WithAbandon: an abandoned call
//     gives its permit back while its function still runs;
//   - a fallback inside a retry: the failures it handles never reach the
//     retry;
//   - a hedge outside a bulkhead: every hedge takes a permit of its own.
//
// Lint reads policies of bulwark's packages only; a policy written
// outside bulwark is not judged, but counts in the positions. It cannot
// tell what a lone timeout is meant for, so it reports one outside a
// retry as meant for each attempt only when a longer one further out
// shows it. It returns nil for a pipeline it finds nothing in, and for a
// nil or zero Pipeline.
func Lint(p *Pipeline) []Finding {
	if p == nil {
		return nil
	}
	stages, _ := stagesOf(p)
	ps := make([]lintinfo.Info, len(stages))
	for i, s := range stages {
		ps[i], _ = lintinfo.Describe(s)
	}
	var out []Finding
	for _, rule := range lintRules {
		out = rule(ps, out)
	}
	return out
}

var lintRules = []func(ps []lintinfo.Info, out []Finding) []Finding{
	lintPerAttemptTimeout,
	lintTimeoutShorterThanDelay,
	lintRetryInsideBreaker,
	lintBulkheadOutsideAbandon,
	lintFallbackInsideRetry,
	lintHedgeOutsideBulkhead,
}

// kinds returns the positions of the policies of one of the kinds.
func kinds(ps []lintinfo.Info, kind ...string) []int {
	var at []int
	for i, p := range ps {
		for _, k := range kind {
			if p.Kind == k {
				at = append(at, i)
			}
		}
	}
	return at
}

func lintPerAttemptTimeout(ps []lintinfo.Info, out []Finding) []Finding {
	for _, r := range kinds(ps, "retry") {
		// The timeout nearest the retry outside it, when none is inside
		// and a longer one is further out, was meant for each attempt.
		var outside []int
		inside := false
		for _, t := range kinds(ps, "timeout") {
			switch {
			case t > r:
				inside = true
			case !ps[t].Dynamic:
				outside = append(outside, t)
			}
		}
		if inside || len(outside) < 2 {
			continue
		}
		inner, outer := outside[len(outside)-1], -1
		for _, t := range outside[:len(outside)-1] {
			if ps[t].Timeout > ps[inner].Timeout && (outer < 0 || ps[t].Timeout > ps[outer].Timeout) {
				outer = t
			}
		}
		if outer < 0 {
			continue
		}
		out = append(out, Finding{
			Rule:     "timeout-per-attempt-outside-retry",
			Policies: []int{outer, inner, r},
			What: fmt.Sprintf("the timeout of %v (policy %d) is outside the retry (policy %d), inside the longer timeout of %v (policy %d)",
				ps[inner].Timeout, inner, r, ps[outer].Timeout, outer),
			Why: "a timeout outside a retry bounds the whole call, every attempt and every wait between them, " +
				"so the longer timeout around it never fires and no attempt has a bound of its own; " +
				"a timeout meant for each attempt goes inside the retry (after it in bulwark.New)",
		})
	}
	return out
}

func lintTimeoutShorterThanDelay(ps []lintinfo.Info, out []Finding) []Finding {
	for _, r := range kinds(ps, "retry") {
		rt := ps[r]
		if !rt.DelayKnown || rt.FirstDelay <= 0 || rt.MaxAttempts < 2 {
			continue
		}
		why := "the retry gives up at once when its wait does not fit the time left, so the call is never retried; " +
			"give the call more time than the retry's waits, or the retry shorter waits"
		if rt.MinFirstDelay < rt.FirstDelay {
			why = "the retry gives up at once when its wait does not fit the time left, so the call is retried only " +
				"when the jitter draws a wait shorter than what is left; give the call more time than the retry's waits, " +
				"or the retry shorter waits"
		}
		delay := fmt.Sprintf("first retry waits %v", rt.FirstDelay)
		if rt.MinFirstDelay < rt.FirstDelay {
			delay += " before jitter"
		}
		for _, t := range kinds(ps, "timeout") {
			if t > r || ps[t].Dynamic || ps[t].Timeout > rt.FirstDelay {
				continue
			}
			out = append(out, Finding{
				Rule:     "timeout-shorter-than-retry-delay",
				Policies: []int{t, r},
				What:     fmt.Sprintf("the timeout of %v (policy %d) bounds the retry (policy %d), whose %s", ps[t].Timeout, t, r, delay),
				Why:      why,
			})
		}
		if rt.MaxDuration > 0 && rt.MaxDuration <= rt.FirstDelay {
			out = append(out, Finding{
				Rule:     "timeout-shorter-than-retry-delay",
				Policies: []int{r},
				What:     fmt.Sprintf("the retry (policy %d) has a max duration of %v, and its %s", r, rt.MaxDuration, delay),
				Why:      why,
			})
		}
	}
	return out
}

func lintRetryInsideBreaker(ps []lintinfo.Info, out []Finding) []Finding {
	for _, b := range kinds(ps, "breaker") {
		for _, r := range kinds(ps, "retry") {
			if r < b {
				continue
			}
			out = append(out, Finding{
				Rule:     "retry-inside-breaker",
				Policies: []int{b, r},
				What:     fmt.Sprintf("the retry (policy %d) is inside the breaker (policy %d)", r, b),
				Why: fmt.Sprintf("the breaker sees one outcome per call, the last attempt's, however many of its up to %d attempts failed, "+
					"so it opens only after many more failures of the dependency than it is configured for, and it cannot stop "+
					"the attempts of a call already past it; put the breaker inside the retry (after it in bulwark.New), where each "+
					"attempt passes it and its rejection tells the retry when to come back", ps[r].MaxAttempts),
			})
		}
	}
	return out
}

func lintBulkheadOutsideAbandon(ps []lintinfo.Info, out []Finding) []Finding {
	for _, b := range kinds(ps, "bulkhead", "adaptive") {
		for _, t := range kinds(ps, "timeout") {
			if t < b || !ps[t].Abandon {
				continue
			}
			out = append(out, Finding{
				Rule:     "bulkhead-outside-abandoning-timeout",
				Policies: []int{b, t},
				What:     fmt.Sprintf("the %s (policy %d) is outside the timeout (policy %d), which abandons calls (timeout.WithAbandon)", ps[b].Kind, b, t),
				Why: "an abandoned call gives its permit back at the deadline while its function goes on running, so the bulkhead " +
					"bounds the callers waiting, not the functions running; put the bulkhead inside the timeout (after it in bulwark.New)",
			})
		}
	}
	return out
}

func lintFallbackInsideRetry(ps []lintinfo.Info, out []Finding) []Finding {
	for _, r := range kinds(ps, "retry") {
		for _, f := range kinds(ps, "fallback") {
			if f < r {
				continue
			}
			which := "every failure"
			if ps[f].Selective {
				which = "each failure it handles"
			}
			out = append(out, Finding{
				Rule:     "fallback-inside-retry",
				Policies: []int{r, f},
				What:     fmt.Sprintf("the fallback (policy %d) is inside the retry (policy %d)", f, r),
				Why: "the fallback turns " + which + " into its own outcome before the retry sees it, so the retry never retries it; " +
					"put the fallback outside the retry (before it in bulwark.New), where it sees the final error",
			})
		}
	}
	return out
}

func lintHedgeOutsideBulkhead(ps []lintinfo.Info, out []Finding) []Finding {
	for _, h := range kinds(ps, "hedge") {
		for _, b := range kinds(ps, "bulkhead", "adaptive") {
			if b < h {
				continue
			}
			out = append(out, Finding{
				Rule:     "hedge-outside-bulkhead",
				Policies: []int{h, b},
				What:     fmt.Sprintf("the hedge (policy %d) is outside the %s (policy %d)", h, ps[b].Kind, b),
				Why: "each attempt of the hedge takes a permit of its own: hedges launch when the dependency is slow, when permits " +
					"are scarce, so the bulkhead rejects them, and those it admits take the permits of other calls' first attempts; " +
					"put the bulkhead outside the hedge (before it in bulwark.New) and size it for the attempts of a call",
			})
		}
	}
	return out
}
