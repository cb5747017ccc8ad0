package api

import "strings"

// SDTargetGroup is one Prometheus http_sd target group, as the
// integrations SD endpoints answer them.
type SDTargetGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels,omitempty"`
}

// IntegrationsSDOptions filter an integrations SD answer.
type IntegrationsSDOptions struct {
	// Integrations keeps only these (agent, node_exporter); empty: all.
	Integrations []string
	// Instance keeps only integrations of this instance label.
	Instance string
}

// FleetSD lists every ready node's integrations (GET /v1/integrations/sd,
// node:read), each a target group with Grafana Agent's labels and the
// node's ID, name and datacenter as __meta_nomadlike_* labels.
func (a *Agent) FleetSD(opts IntegrationsSDOptions, q *QueryOptions) ([]*SDTargetGroup, error) {
	return a.integrationsSD("/v1/integrations/sd", opts, q)
}

// IntegrationsSD lists the integrations of the agent at the client's
// address (GET /agent/api/v1/metrics/integrations/sd, agent:read).
func (a *Agent) IntegrationsSD(opts IntegrationsSDOptions, q *QueryOptions) ([]*SDTargetGroup, error) {
	return a.integrationsSD("/agent/api/v1/metrics/integrations/sd", opts, q)
}

func (a *Agent) integrationsSD(path string, opts IntegrationsSDOptions, q *QueryOptions) ([]*SDTargetGroup, error) {
	q = withParams(q)
	if len(opts.Integrations) > 0 {
		q.Params["integrations"] = strings.Join(opts.Integrations, ",")
	}
	if opts.Instance != "" {
		q.Params["instance"] = opts.Instance
	}
	var out []*SDTargetGroup
	if _, err := a.client.query(path, &out, q); err != nil {
		return nil, err
	}
	return out, nil
}
