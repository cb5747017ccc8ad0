package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/common/model"
	yaml "go.yaml.in/yaml/v2"

	"github.com/nomadlike/nomadlike/agent/client"
	"github.com/nomadlike/nomadlike/agent/integrations"
	"github.com/nomadlike/nomadlike/agent/metrics"
)

// validate checks client { metrics {} }; each error names the field.
func (m *MetricsConfig) validate(add func(string, ...any)) {
	durations := map[string]*string{"scrape_interval": m.ScrapeInterval, "scrape_timeout": m.ScrapeTimeout,
		"status_interval": m.StatusInterval}
	for _, key := range []string{"scrape_interval", "scrape_timeout", "status_interval"} {
		d, err := model.ParseDuration(*durations[key])
		if err != nil || d <= 0 {
			add("client.metrics.%s: %q must be a positive duration such as 15s", key, *durations[key])
		}
	}
	iv, err1 := model.ParseDuration(*m.ScrapeInterval)
	to, err2 := model.ParseDuration(*m.ScrapeTimeout)
	if err1 == nil && err2 == nil && to > iv {
		add("client.metrics.scrape_timeout: %s must not be longer than scrape_interval %s", to, iv)
	}
	for k := range m.ExternalLabels {
		if !model.LabelName(k).IsValid() || k == "" {
			add("client.metrics.external_labels: %q is not a valid label name", k)
		}
	}
	seen := map[string]bool{}
	for _, in := range m.Instances {
		checkInstanceBlock("client.metrics.instance", in.Name, in.Config, in.ConfigFile, seen, add)
	}
}

// global is the section every instance shares.
func (m *MetricsConfig) global() metrics.Global {
	iv, _ := model.ParseDuration(*m.ScrapeInterval)
	to, _ := model.ParseDuration(*m.ScrapeTimeout)
	return metrics.Global{ScrapeInterval: time.Duration(iv), ScrapeTimeout: time.Duration(to), ExternalLabels: m.ExternalLabels}
}

// walDir is where instance WALs live.
func (m *MetricsConfig) walDir(dataDir string) string {
	if *m.WALDirectory != "" {
		return *m.WALDirectory
	}
	return filepath.Join(dataDir, "metrics")
}

// selfScrape is how an instance reaches this agent's own HTTP API for
// agent_integration: its address, the client's token, and the CA to trust
// when the API is HTTPS ("" when it is plain HTTP).
type selfScrape struct {
	addr, token string
	https       bool
	caFile      string
	// integrations are autoscraped into their metrics instances.
	integrations []runningIntegration
}

// selfScrape is how this agent's instances reach its own HTTP API, with
// the CA of caFile and the integrations igs (a reload's, when one changed
// them).
func (a *Agent) selfScrape(caFile string, igs []runningIntegration) selfScrape {
	return selfScrape{addr: a.advertise.http, token: *a.config.Client.Token,
		https: *a.config.TLS.EnableHTTP, caFile: caFile, integrations: igs}
}

// localSpecs reads the local instances; self is this agent's HTTP API
// address for agent_integration.
func (m *MetricsConfig) localSpecs(self selfScrape) ([]metrics.Spec, error) {
	var specs []metrics.Spec
	for _, in := range m.Instances {
		text, err := instanceText("client.metrics.instance", in.Name, in.Config, in.ConfigFile)
		if err != nil {
			return nil, err
		}
		if in.AgentIntegration != nil && *in.AgentIntegration {
			var err error
			if text, err = withScrapeJob(text, self, self.agentJob()); err != nil {
				return nil, fmt.Errorf("client.metrics.instance %q: %w", in.Name, err)
			}
		}
		for _, ig := range self.integrations {
			if ig.metricsInstance != in.Name {
				continue
			}
			var err error
			if text, err = withScrapeJob(text, self, self.integrationJob(ig)); err != nil {
				return nil, fmt.Errorf("client.metrics.instance %q: integrations.%s: %w", in.Name, ig.Name, err)
			}
		}
		specs = append(specs, metrics.Spec{Name: in.Name, YAML: text, Source: "local"})
	}
	return specs, nil
}

// agentJob is agent_integration's scrape job: this agent's own telemetry
// at /v1/metrics.
func (self selfScrape) agentJob() yaml.MapSlice {
	return yaml.MapSlice{
		{Key: "job_name", Value: "integrations/agent"},
		{Key: "metrics_path", Value: "/v1/metrics"},
		{Key: "params", Value: map[string][]string{"format": {"prometheus"}}},
		{Key: "static_configs", Value: []map[string][]string{{"targets": {self.addr}}}},
	}
}

// integrationJob is the autoscrape job of an integration this agent
// serves, labelled as its SD target is.
func (self selfScrape) integrationJob(ig runningIntegration) yaml.MapSlice {
	return yaml.MapSlice{
		{Key: "job_name", Value: integrations.JobName(ig.Name)},
		{Key: "metrics_path", Value: integrations.MetricsPath(ig.Name)},
		{Key: "static_configs", Value: []map[string]any{{"targets": []string{self.addr},
			"labels": map[string]string{"instance": ig.Instance, "agent_hostname": self.addr}}}},
	}
}

// withScrapeJob adds a scrape job of this agent's own HTTP API (its
// scheme, CA and token) to an instance config.
func withScrapeJob(text []byte, self selfScrape, job yaml.MapSlice) ([]byte, error) {
	var doc yaml.MapSlice
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return nil, err
	}
	if self.https {
		job = append(job, yaml.MapItem{Key: "scheme", Value: "https"})
		if self.caFile != "" {
			job = append(job, yaml.MapItem{Key: "tls_config", Value: map[string]string{"ca_file": self.caFile}})
		}
	}
	if self.token != "" {
		job = append(job, yaml.MapItem{Key: "authorization", Value: map[string]string{"credentials": self.token}})
	}
	found := false
	for i, item := range doc {
		if item.Key == "scrape_configs" {
			list, _ := item.Value.([]any)
			doc[i].Value = append(list, job)
			found = true
		}
	}
	if !found {
		doc = append(doc, yaml.MapItem{Key: "scrape_configs", Value: []any{job}})
	}
	return yaml.Marshal(doc)
}

// setupMetrics starts the metrics runtime with the local instances, before
// the client registers: scraping does not wait for the servers. A local
// instance that does not start fails the agent's start.
func (a *Agent) setupMetrics(cc *client.Config) error {
	mc := a.config.Client.Metrics
	m, err := metrics.New(metrics.Options{
		WALDir:    mc.walDir(*a.config.DataDir),
		Global:    mc.global(),
		Logger:    a.logger,
		HostNames: []string{*a.config.NodeName},
	})
	if err != nil {
		return err
	}
	local, err := mc.localSpecs(a.selfScrape(*a.config.TLS.CAFile, a.runningIntegrations()))
	if err != nil {
		m.Close()
		return err
	}
	if err := m.Apply(local); err != nil {
		m.Close()
		return err
	}
	a.metrics = m
	// The instances' own series (scrapes, WAL, remote_write queues) go
	// out with the agent's telemetry, labelled instance_name.
	a.AddMetricsGatherer(m)
	// And their main figures as go-metrics gauges, for the JSON form.
	every, err := time.ParseDuration(*a.config.Telemetry.CollectionInterval)
	if err != nil || every <= 0 {
		every = time.Second
	}
	go m.EmitFigures(every, a.shutdownCh)
	cc.Metrics, cc.LocalMetrics = m, local
	iv, _ := model.ParseDuration(*mc.StatusInterval)
	cc.StatusInterval = time.Duration(iv)
	return nil
}

// checkInstanceBlock checks one instance "<name>" {} block of a metrics or
// logs block at path: a unique name, and exactly one of config and
// config_file. It says whether config (inline) can be read further.
func checkInstanceBlock(path, name string, config, file *string, seen map[string]bool, add func(string, ...any)) bool {
	where := fmt.Sprintf("%s %q", path, name)
	if name == "" {
		add("%s: needs a name label", path)
	}
	if seen[name] {
		add("%s: defined twice", where)
	}
	seen[name] = true
	if (config == nil) == (file == nil) {
		add("%s: set exactly one of config (inline YAML) or config_file", where)
		return false
	}
	return config != nil
}

// instanceText is an instance block's YAML: config, or config_file read
// now.
func instanceText(path, name string, config, file *string) ([]byte, error) {
	if file == nil {
		return []byte(*config), nil
	}
	b, err := os.ReadFile(*file)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", path, name, err)
	}
	return b, nil
}
