package validate

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	yaml "go.yaml.in/yaml/v2"
)

// Grafana Agent's logs instance config (the Promtail subset agent/logs
// runs), read here so that the config API's servers and the agents that
// run it read it alike.

// LogsInstanceConfig is a logs instance config.
type LogsInstanceConfig struct {
	Name          string             `yaml:"name,omitempty"`
	Positions     LogsPositions      `yaml:"positions,omitempty"`
	Clients       []LogsClientConfig `yaml:"clients"`
	ScrapeConfigs []LogsScrapeConfig `yaml:"scrape_configs"`
	// TargetConfig is Promtail's target_config: how often globs are
	// matched again where no directory event can tell (a glob in a
	// directory part, or a directory that does not exist yet).
	TargetConfig LogsTargetConfig `yaml:"target_config,omitempty"`
}

// LogsPositions is where the instance keeps its offsets; "" is
// <positions_directory>/<name>.positions.json.
type LogsPositions struct {
	Filename string `yaml:"filename,omitempty"`
}

// LogsTargetConfig is Promtail's target_config.
type LogsTargetConfig struct {
	SyncPeriod model.Duration `yaml:"sync_period,omitempty"`
}

// LogsClientConfig is one Loki push endpoint (Promtail's client config).
type LogsClientConfig struct {
	URL            string            `yaml:"url"`
	TenantID       string            `yaml:"tenant_id,omitempty"`
	BatchWait      model.Duration    `yaml:"batchwait,omitempty"`
	BatchSize      int               `yaml:"batchsize,omitempty"`
	Timeout        model.Duration    `yaml:"timeout,omitempty"`
	ExternalLabels map[string]string `yaml:"external_labels,omitempty"`
	Headers        map[string]string `yaml:"headers,omitempty"`
	Backoff        LogsBackoffConfig `yaml:"backoff_config,omitempty"`
	// HTTPClientConfig is Prometheus' HTTP client section (basic_auth,
	// authorization, bearer_token, tls_config, proxy_url), inline as in
	// Promtail.
	HTTP commoncfg.HTTPClientConfig `yaml:",inline"`
}

// LogsBackoffConfig is how a failed push is retried. MaxRetries 0 retries for
// ever: the files are the buffer, and a line is only passed once the push
// that carries it succeeded (DESIGN.md).
type LogsBackoffConfig struct {
	MinPeriod  model.Duration `yaml:"min_period,omitempty"`
	MaxPeriod  model.Duration `yaml:"max_period,omitempty"`
	MaxRetries int            `yaml:"max_retries,omitempty"`
}

// LogsScrapeConfig is one job of files.
type LogsScrapeConfig struct {
	JobName       string             `yaml:"job_name"`
	StaticConfigs []LogsStaticConfig `yaml:"static_configs"`
}

// LogsStaticConfig is a group of targets sharing labels; __path__ is the glob
// of the files to tail.
type LogsStaticConfig struct {
	Targets []string          `yaml:"targets"`
	Labels  map[string]string `yaml:"labels"`
}

// Defaults are Promtail's, but for max_retries (see LogsBackoffConfig).
const (
	logsDefaultBatchWait  = time.Second
	logsDefaultBatchSize  = 1 << 20
	logsDefaultTimeout    = 10 * time.Second
	logsDefaultMinBackoff = 500 * time.Millisecond
	logsDefaultMaxBackoff = 5 * time.Minute
	logsDefaultSyncPeriod = 10 * time.Second
	// logsMaxBatchSize bounds what one push holds in memory.
	logsMaxBatchSize = 64 << 20
)

// LogsPathLabel is the label a static config names its glob with.
const LogsPathLabel = "__path__"

// ParseLogsInstanceConfig reads a logs instance config strictly (an unknown
// key is an error rather than a setting silently ignored), fills in the
// defaults and checks it. name replaces the body's name.
func ParseLogsInstanceConfig(b []byte, name string) (*LogsInstanceConfig, error) {
	var c LogsInstanceConfig
	if err := yaml.UnmarshalStrict(b, &c); err != nil {
		return nil, fmt.Errorf("logs instance config: %w", err)
	}
	c.Name = name
	if c.TargetConfig.SyncPeriod <= 0 {
		c.TargetConfig.SyncPeriod = model.Duration(logsDefaultSyncPeriod)
	}
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if name == "" {
		add("name: required")
	}
	if len(c.Clients) == 0 {
		add("clients: at least one Loki push URL is required")
	}
	for i := range c.Clients {
		c.Clients[i].defaults()
		c.Clients[i].validate(fmt.Sprintf("clients[%d]", i), add)
	}
	jobs := map[string]bool{}
	for i, sc := range c.ScrapeConfigs {
		where := fmt.Sprintf("scrape_configs[%d]", i)
		if sc.JobName == "" {
			add("%s.job_name: required", where)
		} else if jobs[sc.JobName] {
			add("%s.job_name: %q is used twice", where, sc.JobName)
		}
		jobs[sc.JobName] = true
		if len(sc.StaticConfigs) == 0 {
			add("%s.static_configs: at least one is required", where)
		}
		for j, st := range sc.StaticConfigs {
			w := fmt.Sprintf("%s.static_configs[%d]", where, j)
			p := st.Labels[LogsPathLabel]
			switch {
			case p == "":
				add("%s.labels.__path__: required, the glob of the files to tail", w)
			case !filepath.IsAbs(p):
				add("%s.labels.__path__: %q must be an absolute path", w, p)
			default:
				if _, err := filepath.Match(p, ""); err != nil {
					add("%s.labels.__path__: %q: %v", w, p, err)
				}
			}
			for k, v := range st.Labels {
				if !model.LegacyValidation.IsValidLabelName(k) {
					add("%s.labels: %q is not a valid label name", w, k)
				}
				if !model.LabelValue(v).IsValid() {
					add("%s.labels.%s: not valid UTF-8", w, k)
				}
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("logs instance %q: %w", name, err)
	}
	return &c, nil
}

func (c *LogsClientConfig) defaults() {
	if c.BatchWait <= 0 {
		c.BatchWait = model.Duration(logsDefaultBatchWait)
	}
	if c.BatchSize <= 0 {
		c.BatchSize = logsDefaultBatchSize
	}
	if c.Timeout <= 0 {
		c.Timeout = model.Duration(logsDefaultTimeout)
	}
	if c.Backoff.MinPeriod <= 0 {
		c.Backoff.MinPeriod = model.Duration(logsDefaultMinBackoff)
	}
	if c.Backoff.MaxPeriod <= 0 {
		c.Backoff.MaxPeriod = model.Duration(logsDefaultMaxBackoff)
	}
	// A config without these keys means Prometheus' defaults, not Go's
	// zero values.
	if !c.HTTP.FollowRedirects && !c.HTTP.EnableHTTP2 {
		c.HTTP.FollowRedirects, c.HTTP.EnableHTTP2 = true, true
	}
}

func (c *LogsClientConfig) validate(where string, add func(string, ...any)) {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add("%s.url: %q must be an http(s) URL such as http://loki:3100/loki/api/v1/push", where, c.URL)
	}
	if c.BatchSize > logsMaxBatchSize {
		add("%s.batchsize: %d is over the %d bytes one push may hold", where, c.BatchSize, logsMaxBatchSize)
	}
	if c.Backoff.MaxPeriod < c.Backoff.MinPeriod {
		add("%s.backoff_config.max_period: shorter than min_period", where)
	}
	if c.Backoff.MaxRetries < 0 {
		add("%s.backoff_config.max_retries: must not be negative", where)
	}
	for k, v := range c.ExternalLabels {
		if !model.LegacyValidation.IsValidLabelName(k) || !model.LabelValue(v).IsValid() {
			add("%s.external_labels: %q is not a valid label", where, k)
		}
	}
	if err := c.HTTP.Validate(); err != nil {
		add("%s: %v", where, err)
	}
}

// LogsHasPlaceholders says whether a logs instance config holds the
// placeholders a read hides its secrets with ("<secret>", a URL password
// "xxxxx"): a config read back, edited and sent again.
func LogsHasPlaceholders(body []byte) bool {
	var t yaml.MapSlice
	if err := yaml.Unmarshal(body, &t); err != nil {
		return false
	}
	_, err := mergeSecrets(t, nil, "", "", "")
	return err != nil
}

// KeepStoredLogsSecrets returns body with every placeholder replaced by the
// secret stored at the same place in stored (the YAML stored now, "" when
// there is none), with the same rules as a metrics config: clients are
// matched by URL, scrape_configs by job_name. A placeholder with no
// stored secret at its place is an error naming the field. The result is
// parsed again.
func KeepStoredLogsSecrets(body []byte, stored, name string) ([]byte, error) {
	var n, o yaml.MapSlice
	if err := yaml.Unmarshal(body, &n); err != nil {
		return nil, err
	}
	if stored != "" {
		if err := yaml.Unmarshal([]byte(stored), &o); err != nil {
			o = nil // stored contents passed validation; a parse failure keeps nothing
		}
	}
	merged, err := mergeSecrets(n, o, "", "", name)
	if err != nil {
		return nil, err
	}
	b, err := yaml.Marshal(merged)
	if err != nil {
		return nil, err
	}
	if _, err := ParseLogsInstanceConfig(b, name); err != nil {
		return nil, err
	}
	return b, nil
}
