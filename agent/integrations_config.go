package agent

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/nomadlike/nomadlike/agent/integrations"
	"github.com/nomadlike/nomadlike/nomadlike/hclogslog"
)

// IntegrationsConfig is the integrations {} block: Grafana Agent's
// built-in metrics integrations this agent runs.
type IntegrationsConfig struct {
	NodeExporter *NodeExporterIntegration `hcl:"node_exporter,block"`
	Agent        *IntegrationCommon       `hcl:"agent,block"`
}

// IntegrationCommon are the settings of every integration.
type IntegrationCommon struct {
	// Enabled runs it (default true once the block is written).
	Enabled *bool `hcl:"enabled,optional"`
	// Instance is its instance label (default: the agent's advertised
	// HTTP host:port).
	Instance *string `hcl:"instance,optional"`
	// MetricsInstance, when set, autoscrapes it into that local metrics
	// instance (client { metrics { instance "<name>" {} } }).
	MetricsInstance *string `hcl:"metrics_instance,optional"`
}

// NodeExporterIntegration is integrations { node_exporter {} }.
type NodeExporterIntegration struct {
	Enabled         *bool   `hcl:"enabled,optional"`
	Instance        *string `hcl:"instance,optional"`
	MetricsInstance *string `hcl:"metrics_instance,optional"`
	// Collectors limits node_exporter to these collectors (its names:
	// cpu, meminfo, filesystem, ...); empty runs its defaults.
	Collectors []string `hcl:"collectors,optional"`
}

// common are its settings shared with every integration.
func (n *NodeExporterIntegration) common() *IntegrationCommon {
	if n == nil {
		return nil
	}
	return &IntegrationCommon{Enabled: n.Enabled, Instance: n.Instance, MetricsInstance: n.MetricsInstance}
}

func (i *IntegrationCommon) enabled() bool { return i != nil && (i.Enabled == nil || *i.Enabled) }

// validate checks the block against the local metrics instances.
func (c *Config) validateIntegrations(add func(string, ...any)) {
	ic := c.Integrations
	if ic == nil {
		return
	}
	instances := map[string]bool{}
	for _, in := range c.Client.Metrics.Instances {
		instances[in.Name] = true
	}
	check := func(name string, i *IntegrationCommon) {
		if !i.enabled() {
			return
		}
		if !*c.Client.Enabled {
			add("integrations.%s: integrations run on client agents (client { enabled = true })", name)
		}
		if m := i.MetricsInstance; m != nil && !instances[*m] {
			add("integrations.%s.metrics_instance: %q is not a local metrics instance (client { metrics { instance %q {} } })", name, *m, *m)
		}
	}
	check(integrations.NodeExporter, ic.NodeExporter.common())
	check(integrations.Agent, ic.Agent)
}

// runningIntegration is an integration this agent serves.
type runningIntegration struct {
	integrations.Integration
	metricsInstance string
}

// setupIntegrations builds the enabled integrations; they are served by
// the HTTP server and reported in the node's attributes.
func (a *Agent) setupIntegrations() error {
	igs, err := a.buildIntegrations(a.config)
	if err != nil {
		return err
	}
	a.integrations.Store(&igs)
	return nil
}

// runningIntegrations are the integrations this agent serves now.
func (a *Agent) runningIntegrations() []runningIntegration {
	if p := a.integrations.Load(); p != nil {
		return *p
	}
	return nil
}

// buildIntegrations builds the integrations c enables on this agent.
func (a *Agent) buildIntegrations(c *Config) ([]runningIntegration, error) {
	ic := c.Integrations
	if ic == nil || !*c.Client.Enabled {
		return nil, nil
	}
	var out []runningIntegration
	add := func(name string, c *IntegrationCommon, h http.Handler) {
		inst := a.advertise.http
		if c.Instance != nil && *c.Instance != "" {
			inst = *c.Instance
		}
		out = append(out, runningIntegration{
			Integration:     integrations.Integration{Name: name, Instance: inst, Autoscrape: c.MetricsInstance != nil, Handler: h},
			metricsInstance: deref(c.MetricsInstance)})
	}
	if ic.Agent.enabled() {
		add(integrations.Agent, ic.Agent, a.agentMetricsHandler())
	}
	if ne := ic.NodeExporter; ne.common().enabled() {
		h, err := integrations.NewNodeExporter(hclogslog.New(a.logger.Named("node_exporter")), ne.Collectors)
		if err != nil {
			return nil, err
		}
		add(integrations.NodeExporter, ne.common(), h)
	}
	return out, nil
}

// agentMetricsHandler serves the agent's own metrics in Prometheus' text
// format: the "agent" integration.
func (a *Agent) agentMetricsHandler() http.Handler {
	return promhttp.HandlerFor(a.MetricsGatherer(), promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// integrationAttributes are the node attributes that tell servers which
// integrations igs are (the fleet's SD reads them).
func integrationAttributes(igs []runningIntegration) map[string]string {
	attrs := map[string]string{}
	for _, ig := range igs {
		attrs[integrations.AttrInstance(ig.Name)] = ig.Instance
		as := "0"
		if ig.Autoscrape {
			as = "1"
		}
		attrs[integrations.AttrAutoscrape(ig.Name)] = as
	}
	return attrs
}
