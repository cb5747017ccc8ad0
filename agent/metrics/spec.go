package metrics

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	yaml "go.yaml.in/yaml/v2"
)

// Grafana Agent's defaults for an instance's WAL (static/metrics/instance).
const (
	DefaultWALTruncateFrequency = 60 * time.Minute
	DefaultMinWALTime           = 5 * time.Minute
	DefaultMaxWALTime           = 4 * time.Hour
	DefaultRemoteFlushDeadline  = time.Minute
)

// Global is what every instance of an agent shares: Prometheus' global
// section, from the agent's own config.
type Global struct {
	ScrapeInterval time.Duration
	ScrapeTimeout  time.Duration
	ExternalLabels map[string]string
}

// Spec is one instance to run: a Grafana Agent metrics_instance_config
// by name, as YAML.
type Spec struct {
	Name string
	// YAML is the instance config (name, scrape_configs, remote_write,
	// the WAL durations); its name key, if any, is ignored.
	YAML []byte
	// Source says where it comes from ("assigned" by the config
	// scheduler, or "local" from the agent's own config), for status.
	Source string
}

// walOptions are the parts of an instance config that need the WAL to be
// reopened when they change.
type walOptions struct {
	TruncateFrequency   time.Duration
	MinWALTime          time.Duration
	MaxWALTime          time.Duration
	RemoteFlushDeadline time.Duration
}

// parsed is a Spec turned into what Prometheus' packages take.
type parsed struct {
	name   string
	source string
	wal    walOptions
	prom   *promconfig.Config
	// hostFilter keeps only targets on this host (Grafana Agent's
	// host_filter), after hostFilterRelabel; extraHostNames are names
	// of this host besides the OS's (the agent's node name).
	hostFilter        bool
	hostFilterRelabel []*relabel.Config
	extraHostNames    []string
	// hash identifies the YAML and the global section it was read with.
	hash string
	yaml []byte
}

// instanceKeys are the keys of a metrics_instance_config that are not
// Prometheus' own sections.
type instanceKeys struct {
	Name                 string        `yaml:"name"`
	HostFilter           bool          `yaml:"host_filter"`
	WALTruncateFrequency time.Duration `yaml:"wal_truncate_frequency"`
	MinWALTime           time.Duration `yaml:"min_wal_time"`
	MaxWALTime           time.Duration `yaml:"max_wal_time"`
	RemoteFlushDeadline  time.Duration `yaml:"remote_flush_deadline"`
	WriteStaleOnShutdown bool          `yaml:"write_stale_on_shutdown"`
}

// parseSpec reads a Spec with Prometheus' own config loader: the scrape
// and remote_write sections are handed to config.Load under a global
// section built from g, so every default, check and secret type is
// Prometheus'. The stored YAML is never re-marshalled through
// Prometheus' types (which would print secrets as "<secret>").
func parseSpec(s Spec, g Global, logger *slog.Logger) (*parsed, error) {
	var tree yaml.MapSlice
	if err := yaml.Unmarshal(s.YAML, &tree); err != nil {
		return nil, fmt.Errorf("instance %q: %w", s.Name, err)
	}
	keys := instanceKeys{
		WALTruncateFrequency: DefaultWALTruncateFrequency,
		MinWALTime:           DefaultMinWALTime,
		MaxWALTime:           DefaultMaxWALTime,
		RemoteFlushDeadline:  DefaultRemoteFlushDeadline,
	}
	var prom, rest yaml.MapSlice
	var relabelYAML yaml.MapItem
	for _, item := range tree {
		k, _ := item.Key.(string)
		switch k {
		case "scrape_configs", "remote_write":
			prom = append(prom, item)
		case "host_filter_relabel_configs":
			relabelYAML = item
		default:
			rest = append(rest, item)
		}
	}
	restYAML, err := yaml.Marshal(rest)
	if err != nil {
		return nil, err
	}
	if err := yaml.UnmarshalStrict(restYAML, &keys); err != nil {
		return nil, fmt.Errorf("instance %q: %w", s.Name, err)
	}
	global := yaml.MapSlice{}
	if g.ScrapeInterval > 0 {
		global = append(global, yaml.MapItem{Key: "scrape_interval", Value: model.Duration(g.ScrapeInterval).String()})
	}
	if g.ScrapeTimeout > 0 {
		global = append(global, yaml.MapItem{Key: "scrape_timeout", Value: model.Duration(g.ScrapeTimeout).String()})
	}
	if len(g.ExternalLabels) > 0 {
		global = append(global, yaml.MapItem{Key: "external_labels", Value: g.ExternalLabels})
	}
	doc := append(yaml.MapSlice{{Key: "global", Value: global}}, prom...)
	text, err := yaml.Marshal(doc)
	if err != nil {
		return nil, err
	}
	cfg, err := promconfig.Load(string(text), logger)
	if err != nil {
		return nil, fmt.Errorf("instance %q: %w", s.Name, err)
	}
	var hostRelabel []*relabel.Config
	if relabelYAML.Value != nil {
		text, err := yaml.Marshal(relabelYAML.Value)
		if err != nil {
			return nil, err
		}
		if err := yaml.UnmarshalStrict(text, &hostRelabel); err != nil {
			return nil, fmt.Errorf("instance %q: host_filter_relabel_configs: %w", s.Name, err)
		}
		for _, rc := range hostRelabel {
			if err := rc.Validate(model.UTF8Validation); err != nil {
				return nil, fmt.Errorf("instance %q: host_filter_relabel_configs: %w", s.Name, err)
			}
		}
	}
	if keys.MinWALTime > keys.MaxWALTime {
		return nil, fmt.Errorf("instance %q: min_wal_time must be less than max_wal_time", s.Name)
	}
	if keys.WALTruncateFrequency <= 0 {
		return nil, errors.New("wal_truncate_frequency must be greater than 0s")
	}
	if keys.RemoteFlushDeadline <= 0 {
		return nil, errors.New("remote_flush_deadline must be greater than 0s")
	}
	// Grafana Agent names remote_write queues after the instance so that
	// their series tell instances apart.
	for i, rw := range cfg.RemoteWriteConfigs {
		if rw.Name == "" {
			sum := sha256.Sum256([]byte(fmt.Sprintf("%s/%d/%s", s.Name, i, rw.URL)))
			rw.Name = s.Name + "-" + hex.EncodeToString(sum[:3])
		}
	}
	sum := sha256.New()
	sum.Write(s.YAML)
	fmt.Fprintf(sum, "\x00%v\x00%v\x00%v", g.ScrapeInterval, g.ScrapeTimeout, labels.FromMap(g.ExternalLabels))
	return &parsed{
		name:   s.Name,
		source: s.Source,
		wal: walOptions{
			TruncateFrequency:   keys.WALTruncateFrequency,
			MinWALTime:          keys.MinWALTime,
			MaxWALTime:          keys.MaxWALTime,
			RemoteFlushDeadline: keys.RemoteFlushDeadline,
		},
		prom:              cfg,
		hostFilter:        keys.HostFilter,
		hostFilterRelabel: hostRelabel,
		hash:              hex.EncodeToString(sum.Sum(nil)),
		yaml:              s.YAML,
	}, nil
}
