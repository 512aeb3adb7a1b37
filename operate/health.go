package operate

// healthDoc is the body of /healthz.
type healthDoc struct {
	Status   string      `json:"status"` // "ok" or "unavailable"
	Failing  []healthRow `json:"failing,omitempty"`
	Policies []healthRow `json:"policies,omitempty"` // with ?verbose
}

type healthRow struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	State    string `json:"state"`
	Critical bool   `json:"critical"`
	// Reason is why the policy entered its state, when its recent
	// events tell: "consecutive_failures", "isolate" ...
	Reason string `json:"reason,omitempty"`
}

// health reads the state of every registered policy: the service is
// unavailable when a critical one is open or isolated.
func (r *Registry) health(verbose bool) healthDoc {
	r.mu.Lock()
	policies := append([]*entry(nil), r.policies...)
	r.mu.Unlock()
	doc := healthDoc{Status: "ok"}
	for _, e := range policies {
		s := e.status()
		row := healthRow{Name: e.name, Kind: s.Kind, State: s.State, Critical: e.critical}
		if e.events != nil && s.State != "" {
			row.Reason = e.events.reason(s.State)
		}
		if e.critical && failing(s) {
			doc.Status = "unavailable"
			doc.Failing = append(doc.Failing, row)
		}
		if verbose {
			doc.Policies = append(doc.Policies, row)
		}
	}
	return doc
}
