package operate

import (
	"time"
	"unicode/utf8"

	"github.com/bulwark-go/bulwark"
)

// statusDoc is the body of /status and of each /events message. Its shape
// is documented in doc.go and pinned by testdata/status.golden.
type statusDoc struct {
	Time      time.Time     `json:"time"`
	Healthy   bool          `json:"healthy"`
	Controls  bool          `json:"controls"`
	Pipelines []pipelineDoc `json:"pipelines"`
	Policies  []policyDoc   `json:"policies"`
}

type pipelineDoc struct {
	Name     string      `json:"name"`
	Critical bool        `json:"critical"`
	Stages   []string    `json:"stages"`
	Latency  *latencyDoc `json:"latency_ms"` // null unless built with bulwark.WithCallDuration
}

type latencyDoc struct {
	Mean    number   `json:"mean"` // over the last sample interval; null without calls
	History []number `json:"history"`
}

type policyDoc struct {
	Name       string     `json:"name"`
	Pipeline   string     `json:"pipeline"`
	Kind       string     `json:"kind"`
	PolicyName string     `json:"policy_name"`
	State      string     `json:"state"`
	Critical   bool       `json:"critical"`
	Failing    bool       `json:"failing"`
	Calls      callsDoc   `json:"calls"`
	Rates      ratesDoc   `json:"rates"`
	Ratios     ratiosDoc  `json:"ratios"`
	InFlight   int        `json:"in_flight"`
	Limit      int        `json:"limit"`
	Queued     int        `json:"queued"`
	Tokens     number     `json:"tokens"`
	NextState  number     `json:"next_state_seconds"`
	Retries    int64      `json:"retries"`
	Hedges     int64      `json:"hedges"`
	Actions    []string   `json:"actions"`
	Events     []eventDoc `json:"events"`
	History    historyDoc `json:"history"`
}

type callsDoc struct {
	Success  int64 `json:"success"`
	Failure  int64 `json:"failure"`
	Ignored  int64 `json:"ignored"`
	Rejected int64 `json:"rejected"`
}

type ratesDoc struct {
	Success  number `json:"success"`
	Failure  number `json:"failure"`
	Ignored  number `json:"ignored"`
	Rejected number `json:"rejected"`
}

type ratiosDoc struct {
	Failure   number `json:"failure"`
	Rejection number `json:"rejection"`
}

type historyDoc struct {
	Success  []number `json:"success"`
	Failure  []number `json:"failure"`
	Rejected []number `json:"rejected"`
}

type eventDoc struct {
	Time    time.Time `json:"time"`
	First   time.Time `json:"first"`
	Count   int       `json:"count"`
	Type    string    `json:"type"`
	From    string    `json:"from,omitempty"`
	To      string    `json:"to,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	Attempt int       `json:"attempt,omitempty"`
	Delay   number    `json:"delay_seconds,omitempty"`
	Limit   int       `json:"limit,omitempty"`
	Error   string    `json:"error,omitempty"`
}

// actions are the controls of a breaker, in the order the page shows them.
var actions = []string{"isolate", "reset", "disable"}

// maxErrorText bounds the error text of an event in the documents.
const maxErrorText = 200

// snapshot reads every registered policy at now, sampling the counts if
// the last sample is sampleEvery old. controls says whether the handler
// serves the controls.
func (r *Registry) snapshot(now time.Time, controls bool) statusDoc {
	r.mu.Lock()
	defer r.mu.Unlock()
	sample := r.sampled.IsZero() || now.Sub(r.sampled) >= sampleEvery
	if sample {
		r.sampled = now
	}
	doc := statusDoc{Time: now.UTC(), Healthy: true, Controls: controls,
		Pipelines: make([]pipelineDoc, 0, len(r.pipelines)), Policies: make([]policyDoc, 0, len(r.policies))}
	for _, pe := range r.pipelines {
		pd := pipelineDoc{Name: pe.name, Critical: pe.critical, Stages: pe.stages}
		if pe.latency != nil {
			pe.latency.watch(now)
			if sample {
				nanos, calls := pe.latency.load()
				pe.hist.add(durationSample{at: now, nanos: nanos, calls: calls})
			}
			ld := &latencyDoc{Mean: nan, History: []number{}}
			pe.hist.each(func(prev, cur *durationSample) { ld.History = append(ld.History, meanMillis(prev, cur)) })
			if prev, cur, ok := pe.hist.last(); ok {
				ld.Mean = meanMillis(prev, cur)
			}
			pd.Latency = ld
		}
		doc.Pipelines = append(doc.Pipelines, pd)
	}
	for _, e := range r.policies {
		s := e.status()
		if sample {
			e.hist.add(sampleOf(now, s))
		}
		pd := policyDoc{
			Name: e.name, Pipeline: e.pipeline, Kind: s.Kind, PolicyName: s.Name, State: s.State,
			Critical: e.critical, Failing: e.critical && failing(s),
			Calls:    callsDoc{Success: s.Successes, Failure: s.Failures, Ignored: s.Ignored, Rejected: s.Rejected},
			Rates:    ratesDoc{nan, nan, nan, nan},
			Ratios:   ratiosDoc{nan, nan},
			InFlight: s.InFlight, Limit: s.Limit, Queued: s.Queued,
			Tokens: number(s.Tokens), NextState: number(s.NextState.Seconds()),
			Retries: s.Retries, Hedges: s.Hedges,
			Actions: []string{}, Events: []eventDoc{},
			History: historyDoc{Success: []number{}, Failure: []number{}, Rejected: []number{}},
		}
		if pd.Failing {
			doc.Healthy = false
		}
		if controls && e.control != nil {
			pd.Actions = actions
		}
		if prev, cur, ok := e.hist.last(); ok {
			pd.Rates = ratesOf(s, prev, cur)
			pd.Ratios = ratios(s, prev, cur)
		}
		e.hist.each(func(prev, cur *countSample) {
			r := ratesOf(s, prev, cur)
			pd.History.Success = append(pd.History.Success, r.Success)
			pd.History.Failure = append(pd.History.Failure, r.Failure)
			pd.History.Rejected = append(pd.History.Rejected, r.Rejected)
		})
		if e.events != nil {
			for _, rec := range e.events.records() {
				pd.Events = append(pd.Events, eventDocOf(rec))
			}
		}
		doc.Policies = append(doc.Policies, pd)
	}
	return doc
}

// ratesOf returns the calls per second by outcome between two samples of a
// policy whose status is now s. A policy counts only what its own logic
// needs (a retry its failures, a bulkhead its rejections): an outcome it has
// never counted has no rate (null), where a zero would claim a count it
// does not keep.
func ratesOf(s bulwark.Status, prev, cur *countSample) ratesDoc {
	ok, fail, ign, rej := rates(prev, cur)
	out := ratesDoc{nan, nan, nan, nan}
	if s.Successes > 0 {
		out.Success = ok
	}
	if s.Failures > 0 {
		out.Failure = fail
	}
	if s.Ignored > 0 {
		out.Ignored = ign
	}
	if s.Rejected > 0 {
		out.Rejected = rej
	}
	return out
}

// ratios returns the failure and rejection ratios of the calls between two
// samples. They exist only for a policy that counts its successes (a
// breaker): a retry counts its failures alone and a rate limiter its
// rejections, to keep their success paths free, and a ratio of those would
// say nothing. A policy that has counted no success yet has no ratio.
func ratios(s bulwark.Status, prev, cur *countSample) ratiosDoc {
	out := ratiosDoc{nan, nan}
	if s.Successes == 0 {
		return out
	}
	ok, fail, ign, rej := cur.successes-prev.successes, cur.failures-prev.failures,
		cur.ignored-prev.ignored, cur.rejects-prev.rejects
	if ok+fail > 0 {
		out.Failure = number(float64(fail) / float64(ok+fail))
	}
	if all := ok + fail + ign + rej; all > 0 {
		out.Rejection = number(float64(rej) / float64(all))
	}
	return out
}

func eventDocOf(rec record) eventDoc {
	e := rec.e
	d := eventDoc{Time: rec.last.UTC(), First: rec.first.UTC(), Count: rec.count, Type: e.Type.String(),
		From: e.From, To: e.To, Reason: e.Reason, Attempt: e.Attempt, Delay: number(e.Delay.Seconds()), Limit: e.Limit}
	if e.Err != nil {
		d.Error = e.Err.Error()
		if len(d.Error) > maxErrorText {
			cut := maxErrorText
			for cut > 0 && !utf8.RuneStart(d.Error[cut]) {
				cut--
			}
			d.Error = d.Error[:cut] + "…"
		}
	}
	return d
}
