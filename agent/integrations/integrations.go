// Package integrations runs Grafana Agent's built-in metrics
// integrations inside a nomadlike agent: node_exporter (its own
// collectors, embedded) and the agent's own metrics. Each is an HTTP
// handler the agent serves at /integrations/<name>/metrics, and a target
// in Prometheus' http_sd format for whoever scrapes it.
package integrations

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/node_exporter/collector"
)

// Names of the integrations.
const (
	NodeExporter = "node_exporter"
	Agent        = "agent"
)

// Integration is one running integration.
type Integration struct {
	Name string
	// Instance identifies it among the fleet's integrations of its name
	// (default: the agent's host:port).
	Instance string
	// Autoscrape: the agent scrapes it into one of its metrics instances.
	Autoscrape bool
	Handler    http.Handler
}

// MetricsPath is where the agent serves an integration's metrics.
func MetricsPath(name string) string { return "/integrations/" + name + "/metrics" }

// JobName is the job label of an integration's targets.
func JobName(name string) string { return "integrations/" + name }

var kingpinOnce sync.Once
var kingpinErr error

// NewNodeExporter builds node_exporter's collectors (all its defaults, or
// only those named in collectors) behind a handler of their metrics.
// node_exporter reads its settings (procfs path, ...) from kingpin flags
// with defaults; they are applied once, with no arguments, as the
// node_exporter binary does when started without flags.
func NewNodeExporter(logger *slog.Logger, collectors []string) (http.Handler, error) {
	kingpinOnce.Do(func() {
		_, kingpinErr = kingpin.CommandLine.Parse([]string{})
	})
	if kingpinErr != nil {
		return nil, fmt.Errorf("node_exporter defaults: %w", kingpinErr)
	}
	nc, err := collector.NewNodeCollector(logger, collectors...)
	if err != nil {
		return nil, fmt.Errorf("node_exporter: %w", err)
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(nc); err != nil {
		return nil, fmt.Errorf("node_exporter: %w", err)
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}), nil
}

// Target is one http_sd target group.
type Target struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels,omitempty"`
}

// SDTarget is the http_sd group of an integration served at addr
// (host:port) by the agent agentHost (host:port): Grafana Agent's labels,
// plus __metrics_path__ so that a plain http_sd_configs job scrapes the
// right path.
func SDTarget(name, instance string, autoscrape bool, addr, agentHost string) Target {
	as := "0"
	if autoscrape {
		as = "1"
	}
	return Target{Targets: []string{addr}, Labels: map[string]string{
		"instance":                            instance,
		"job":                                 JobName(name),
		"agent_hostname":                      agentHost,
		"__meta_agent_integration_name":       name,
		"__meta_agent_integration_instance":   instance,
		"__meta_agent_integration_autoscrape": as,
		"__metrics_path__":                    MetricsPath(name),
	}}
}

// Filter is the SD endpoints' query: integrations (comma list of names,
// empty: all) and instance (empty: all).
type Filter struct {
	names    []string
	instance string
}

// ParseFilter reads the integrations and instance query parameters; an
// unknown integration name is an error (a 400).
func ParseFilter(integrations, instance string) (Filter, error) {
	f := Filter{instance: instance}
	if integrations == "" {
		return f, nil
	}
	for _, n := range strings.Split(integrations, ",") {
		n = strings.TrimSpace(n)
		if n != NodeExporter && n != Agent {
			return f, fmt.Errorf("unknown integration %q in integrations: want a comma list of %s, %s", n, Agent, NodeExporter)
		}
		f.names = append(f.names, n)
	}
	return f, nil
}

// Match tells whether the filter keeps an integration.
func (f Filter) Match(name, instance string) bool {
	return (len(f.names) == 0 || slices.Contains(f.names, name)) && (f.instance == "" || f.instance == instance)
}

// Sort orders groups by job, then instance, then address.
func Sort(groups []Target) {
	sort.Slice(groups, func(i, j int) bool {
		a, b := groups[i], groups[j]
		if a.Labels["job"] != b.Labels["job"] {
			return a.Labels["job"] < b.Labels["job"]
		}
		if a.Labels["instance"] != b.Labels["instance"] {
			return a.Labels["instance"] < b.Labels["instance"]
		}
		return strings.Join(a.Targets, ",") < strings.Join(b.Targets, ",")
	})
}

// Attribute keys under which a client node reports an integration, so
// that servers can answer the fleet's SD from the node table; every one
// starts with AttrPrefix.
func AttrInstance(name string) string   { return AttrPrefix + name + ".instance" }
func AttrAutoscrape(name string) string { return AttrPrefix + name + ".autoscrape" }

// AttrPrefix starts every integration attribute key.
const AttrPrefix = "integration."

// FromAttributes are the integrations a node reports in its attributes.
func FromAttributes(attrs map[string]string) []Integration {
	var out []Integration
	for _, name := range []string{Agent, NodeExporter} {
		if inst, ok := attrs[AttrInstance(name)]; ok {
			out = append(out, Integration{Name: name, Instance: inst, Autoscrape: attrs[AttrAutoscrape(name)] == "1"})
		}
	}
	return out
}
