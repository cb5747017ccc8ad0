package api

import (
	"errors"
	"net/url"
	"time"
)

// MetricsInstanceStatus is a metrics instance as its node reports it.
type MetricsInstanceStatus struct {
	Name string `json:"name"`
	// Source is "assigned" (a config of the config API) or "local" (the
	// agent's own config).
	Source string `json:"source"`
	// State is running, draining (stopped, still sending its WAL) or
	// failed.
	State          string `json:"state"`
	Error          string `json:"error"`
	TargetsUp      int    `json:"targetsUp"`
	TargetsDown    int    `json:"targetsDown"`
	TargetsUnknown int    `json:"targetsUnknown"`
	// LastError is one down target's scrape error.
	LastError string `json:"lastError"`
}

// ConfigNodeStatus is one node assigned a config.
type ConfigNodeStatus struct {
	NodeID     string `json:"nodeId"`
	NodeName   string `json:"nodeName"`
	NodeStatus string `json:"nodeStatus"`
	// Instance is nil until the node has reported running the config.
	Instance *MetricsInstanceStatus `json:"instance"`
}

// ConfigStatus says which nodes run a config and how its targets are.
type ConfigStatus struct {
	Name  string              `json:"name"`
	Nodes []*ConfigNodeStatus `json:"nodes"`
}

// Status returns where a config runs (GET
// /agent/api/v1/config/{name}/status); q.WaitIndex makes it a blocking
// query.
func (s *Configs) Status(name string, q *QueryOptions) (*ConfigStatus, *QueryMeta, error) {
	if name == "" {
		return nil, nil, errors.New("config name must not be empty")
	}
	var data ConfigStatus
	qm, err := s.client.envelopeQuery(s.base+"/config/"+url.PathEscape(name)+"/status", &data, q)
	if err != nil {
		return nil, nil, err
	}
	if data.Nodes == nil {
		data.Nodes = []*ConfigNodeStatus{}
	}
	return &data, qm, nil
}

// MetricsTarget is one scrape target of an agent's metrics instances,
// with Grafana Agent's fields.
type MetricsTarget struct {
	Instance         string            `json:"instance"`
	TargetGroup      string            `json:"target_group"`
	Endpoint         string            `json:"endpoint"`
	State            string            `json:"state"`
	Labels           map[string]string `json:"labels"`
	DiscoveredLabels map[string]string `json:"discovered_labels"`
	LastScrape       time.Time         `json:"last_scrape"`
	ScrapeDurationMS int64             `json:"scrape_duration_ms"`
	ScrapeError      string            `json:"scrape_error"`
}

// MetricsInstances lists the metrics instances the agent runs (GET
// /agent/api/v1/metrics/instances), sorted.
func (a *Agent) MetricsInstances() ([]string, error) {
	var out []string
	if _, err := a.client.envelopeQuery("/agent/api/v1/metrics/instances", &out, nil); err != nil {
		return nil, err
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// MetricsTargets lists the agent's scrape targets (GET
// /agent/api/v1/metrics/targets).
func (a *Agent) MetricsTargets() ([]*MetricsTarget, error) {
	var out []*MetricsTarget
	if _, err := a.client.envelopeQuery("/agent/api/v1/metrics/targets", &out, nil); err != nil {
		return nil, err
	}
	if out == nil {
		out = []*MetricsTarget{}
	}
	return out, nil
}
