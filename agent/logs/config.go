// Package logs is the agent's logs subsystem: instances that tail files
// matched by __path__ globs and push their lines to a Loki push API, with
// the byte offset of each file kept in a positions file so that a restart
// neither loses nor repeats a line. See DESIGN.md.
package logs

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	yaml "go.yaml.in/yaml/v2"
)

// Spec is one instance to run: a Grafana Agent logs instance config (the
// Promtail subset DESIGN.md lists) by name, as YAML.
type Spec struct {
	Name string
	// YAML is the instance config; its name key, if any, is ignored.
	YAML []byte
	// Source says where it comes from ("local" from the agent's config,
	// or "assigned"), for logs and status.
	Source string
}

// InstanceConfig is a logs instance config.
type InstanceConfig struct {
	Name          string         `yaml:"name,omitempty"`
	Positions     Positions      `yaml:"positions,omitempty"`
	Clients       []ClientConfig `yaml:"clients"`
	ScrapeConfigs []ScrapeConfig `yaml:"scrape_configs"`
	// TargetConfig is Promtail's target_config: how often globs are
	// matched again where no directory event can tell (a glob in a
	// directory part, or a directory that does not exist yet).
	TargetConfig TargetConfig `yaml:"target_config,omitempty"`
}

// Positions is where the instance keeps its offsets; "" is
// <positions_directory>/<name>.positions.json.
type Positions struct {
	Filename string `yaml:"filename,omitempty"`
}

// TargetConfig is Promtail's target_config.
type TargetConfig struct {
	SyncPeriod model.Duration `yaml:"sync_period,omitempty"`
}

// ClientConfig is one Loki push endpoint (Promtail's client config).
type ClientConfig struct {
	URL            string            `yaml:"url"`
	TenantID       string            `yaml:"tenant_id,omitempty"`
	BatchWait      model.Duration    `yaml:"batchwait,omitempty"`
	BatchSize      int               `yaml:"batchsize,omitempty"`
	Timeout        model.Duration    `yaml:"timeout,omitempty"`
	ExternalLabels map[string]string `yaml:"external_labels,omitempty"`
	Headers        map[string]string `yaml:"headers,omitempty"`
	Backoff        BackoffConfig     `yaml:"backoff_config,omitempty"`
	// HTTPClientConfig is Prometheus' HTTP client section (basic_auth,
	// authorization, bearer_token, tls_config, proxy_url), inline as in
	// Promtail.
	HTTP commoncfg.HTTPClientConfig `yaml:",inline"`
}

// BackoffConfig is how a failed push is retried. MaxRetries 0 retries for
// ever: the files are the buffer, and a line is only passed once the push
// that carries it succeeded (DESIGN.md).
type BackoffConfig struct {
	MinPeriod  model.Duration `yaml:"min_period,omitempty"`
	MaxPeriod  model.Duration `yaml:"max_period,omitempty"`
	MaxRetries int            `yaml:"max_retries,omitempty"`
}

// ScrapeConfig is one job of files.
type ScrapeConfig struct {
	JobName       string         `yaml:"job_name"`
	StaticConfigs []StaticConfig `yaml:"static_configs"`
}

// StaticConfig is a group of targets sharing labels; __path__ is the glob
// of the files to tail.
type StaticConfig struct {
	Targets []string          `yaml:"targets"`
	Labels  map[string]string `yaml:"labels"`
}

// Defaults are Promtail's, but for max_retries (see BackoffConfig).
const (
	defaultBatchWait  = time.Second
	defaultBatchSize  = 1 << 20
	defaultTimeout    = 10 * time.Second
	defaultMinBackoff = 500 * time.Millisecond
	defaultMaxBackoff = 5 * time.Minute
	defaultSyncPeriod = 10 * time.Second
	// maxBatchSize bounds what one push holds in memory.
	maxBatchSize = 64 << 20
)

// pathLabel is the label a static config names its glob with; filename
// is the label each stream gets, the file's path.
const (
	pathLabel     = "__path__"
	filenameLabel = "filename"
)

// ParseInstanceConfig reads a logs instance config strictly (an unknown
// key is an error rather than a setting silently ignored), fills in the
// defaults and checks it. name replaces the body's name.
func ParseInstanceConfig(b []byte, name string) (*InstanceConfig, error) {
	var c InstanceConfig
	if err := yaml.UnmarshalStrict(b, &c); err != nil {
		return nil, fmt.Errorf("logs instance config: %w", err)
	}
	c.Name = name
	if c.TargetConfig.SyncPeriod <= 0 {
		c.TargetConfig.SyncPeriod = model.Duration(defaultSyncPeriod)
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
			p := st.Labels[pathLabel]
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

func (c *ClientConfig) defaults() {
	if c.BatchWait <= 0 {
		c.BatchWait = model.Duration(defaultBatchWait)
	}
	if c.BatchSize <= 0 {
		c.BatchSize = defaultBatchSize
	}
	if c.Timeout <= 0 {
		c.Timeout = model.Duration(defaultTimeout)
	}
	if c.Backoff.MinPeriod <= 0 {
		c.Backoff.MinPeriod = model.Duration(defaultMinBackoff)
	}
	if c.Backoff.MaxPeriod <= 0 {
		c.Backoff.MaxPeriod = model.Duration(defaultMaxBackoff)
	}
	// A config without these keys means Prometheus' defaults, not Go's
	// zero values.
	if !c.HTTP.FollowRedirects && !c.HTTP.EnableHTTP2 {
		c.HTTP.FollowRedirects, c.HTTP.EnableHTTP2 = true, true
	}
}

func (c *ClientConfig) validate(where string, add func(string, ...any)) {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add("%s.url: %q must be an http(s) URL such as http://loki:3100/loki/api/v1/push", where, c.URL)
	}
	if c.BatchSize > maxBatchSize {
		add("%s.batchsize: %d is over the %d bytes one push may hold", where, c.BatchSize, maxBatchSize)
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

// hash identifies a config: an instance whose hash is unchanged keeps
// running through an Apply.
func (c *InstanceConfig) hash(positionsFile string) string {
	b, _ := yaml.Marshal(c)
	h := sha256.Sum256(append(b, positionsFile...))
	return hex.EncodeToString(h[:8])
}

// targetSpec is one target: a static config's address with its labels.
type targetSpec struct {
	job        string
	address    string
	glob       string
	labels     model.LabelSet // what its streams carry, besides filename
	discovered map[string]string
}

// targets are the instance's targets in config order.
func (c *InstanceConfig) targets() []targetSpec {
	var out []targetSpec
	for _, sc := range c.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			addrs := st.Targets
			if len(addrs) == 0 {
				addrs = []string{"localhost"}
			}
			for _, addr := range addrs {
				t := targetSpec{job: sc.JobName, address: addr, glob: filepath.Clean(st.Labels[pathLabel]),
					labels: model.LabelSet{}, discovered: map[string]string{"__address__": addr}}
				for k, v := range st.Labels {
					t.discovered[k] = v
					if !strings.HasPrefix(k, "__") {
						t.labels[model.LabelName(k)] = model.LabelValue(v)
					}
				}
				out = append(out, t)
			}
		}
	}
	return out
}

// key names a target in the positions file: its job, address and glob.
func (t targetSpec) key() string { return t.job + "\x00" + t.address + "\x00" + t.glob }
