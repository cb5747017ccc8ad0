package metrics

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"

	"github.com/nomadlike/nomadlike/nomadlike/validate"
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

// parseSpec reads a Spec with the same parser the config API stores
// configs with (nomadlike/validate: Prometheus' own config package and
// Grafana Agent's rules and defaults, such as send_exemplars and the
// generated remote_write names), files allowed since the agent's own
// operator or a stored, already checked config gave it; then builds the
// Prometheus config under a global section from g.
func parseSpec(s Spec, g Global) (*parsed, error) {
	ic, err := validate.ParseInstanceConfig(s.YAML, s.Name, validate.InstanceConfigOptions{DangerousAllowReadingFiles: true})
	if err != nil {
		return nil, fmt.Errorf("instance %q: %w", s.Name, err)
	}
	global := promconfig.DefaultGlobalConfig
	if g.ScrapeInterval > 0 {
		global.ScrapeInterval = model.Duration(g.ScrapeInterval)
	}
	if g.ScrapeTimeout > 0 {
		global.ScrapeTimeout = model.Duration(g.ScrapeTimeout)
	} else {
		// As Prometheus does when only the interval is set.
		global.ScrapeTimeout = min(global.ScrapeTimeout, global.ScrapeInterval)
	}
	global.ExternalLabels = labels.FromMap(g.ExternalLabels)
	cfg, err := ic.PrometheusConfig(global)
	if err != nil {
		return nil, fmt.Errorf("instance %q: %w", s.Name, err)
	}
	sum := sha256.New()
	sum.Write(s.YAML)
	fmt.Fprintf(sum, "\x00%v\x00%v\x00%v", g.ScrapeInterval, g.ScrapeTimeout, global.ExternalLabels)
	return &parsed{
		name:   s.Name,
		source: s.Source,
		wal: walOptions{
			TruncateFrequency:   ic.WALTruncateFrequency,
			MinWALTime:          ic.MinWALTime,
			MaxWALTime:          ic.MaxWALTime,
			RemoteFlushDeadline: ic.RemoteFlushDeadline,
		},
		prom:              cfg,
		hostFilter:        ic.HostFilter,
		hostFilterRelabel: ic.HostFilterRelabelConfigs,
		hash:              hex.EncodeToString(sum.Sum(nil)),
		yaml:              s.YAML,
	}, nil
}
