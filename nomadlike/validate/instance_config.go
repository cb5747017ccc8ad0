package validate

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/prometheus/common/model"
	yaml "go.yaml.in/yaml/v2"
)

// Agent defaults for an instance config (static/metrics/instance).
const (
	DefaultWALTruncateFrequency = 60 * time.Minute
	DefaultMinWALTime           = 5 * time.Minute
	DefaultMaxWALTime           = 4 * time.Hour
	DefaultRemoteFlushDeadline  = time.Minute
)

// Prometheus' global scrape defaults, used to check scrape configs that do
// not set their own interval or timeout. They are not written into the
// config: an agent applies its own globals.
const (
	globalScrapeInterval = model.Duration(time.Minute)
	globalScrapeTimeout  = model.Duration(10 * time.Second)
)

// InstanceConfig is a Grafana Agent static-mode metrics_instance_config.
// Build it with ParseInstanceConfig; the durations are time.Duration as in
// the agent, so they print as "1h0m0s".
type InstanceConfig struct {
	Name                     string               `yaml:"name,omitempty"`
	HostFilter               bool                 `yaml:"host_filter,omitempty"`
	HostFilterRelabelConfigs []*RelabelConfig     `yaml:"host_filter_relabel_configs,omitempty"`
	ScrapeConfigs            []*ScrapeConfig      `yaml:"scrape_configs,omitempty"`
	RemoteWrite              []*RemoteWriteConfig `yaml:"remote_write,omitempty"`
	WALTruncateFrequency     time.Duration        `yaml:"wal_truncate_frequency"`
	MinWALTime               time.Duration        `yaml:"min_wal_time"`
	MaxWALTime               time.Duration        `yaml:"max_wal_time"`
	RemoteFlushDeadline      time.Duration        `yaml:"remote_flush_deadline"`
	WriteStaleOnShutdown     bool                 `yaml:"write_stale_on_shutdown,omitempty"`
}

// rawInstanceConfig decodes and encodes an InstanceConfig without
// recursing into its YAML methods.
type rawInstanceConfig InstanceConfig

// InstanceConfigOptions tune ParseInstanceConfig.
type InstanceConfigOptions struct {
	// DangerousAllowReadingFiles lifts the rule that a config may not make
	// the agent read files (credentials, certificates) nor use service
	// discovery types not known to be safe. It is the agent's
	// scraping_service.dangerous_allow_reading_files.
	DangerousAllowReadingFiles bool
}

// UnmarshalError means the body is not YAML for a metrics_instance_config
// (syntax, unknown or repeated key, wrong type, or a check Prometheus runs
// while decoding). The agent API answers "could not unmarshal config: <err>".
type UnmarshalError struct{ Err error }

// Error returns the underlying message.
func (e *UnmarshalError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *UnmarshalError) Unwrap() error { return e.Err }

// ValidationError means the body decoded but breaks a rule. The agent API
// answers "failed to validate config: <err>".
type ValidationError struct{ Err error }

// Error returns the underlying message.
func (e *ValidationError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *ValidationError) Unwrap() error { return e.Err }

// DefaultInstanceConfig returns the agent's defaults for an instance config.
func DefaultInstanceConfig() InstanceConfig {
	return InstanceConfig{
		WALTruncateFrequency: DefaultWALTruncateFrequency,
		MinWALTime:           DefaultMinWALTime,
		MaxWALTime:           DefaultMaxWALTime,
		RemoteFlushDeadline:  DefaultRemoteFlushDeadline,
	}
}

// ParseInstanceConfig decodes body strictly (unknown and repeated keys are
// errors), starting from the agent's defaults, replaces the body's name with
// name, and validates the result as the agent's config API does. Errors are
// *UnmarshalError or *ValidationError. An empty body fails with "EOF", as
// in the agent.
func ParseInstanceConfig(body []byte, name string, opts InstanceConfigOptions) (*InstanceConfig, error) {
	c, err := decodeInstanceConfig(body)
	if err != nil {
		return nil, &UnmarshalError{Err: err}
	}
	c.Name = name
	if err := c.validate(opts); err != nil {
		return nil, &ValidationError{Err: err}
	}
	return c, nil
}

// decodeInstanceConfig reads exactly one YAML document.
func decodeInstanceConfig(body []byte) (*InstanceConfig, error) {
	dec := yaml.NewDecoder(bytes.NewReader(body))
	dec.SetStrict(true)
	c := DefaultInstanceConfig()
	if err := dec.Decode(&c); err != nil {
		return nil, yamlError(err)
	}
	for {
		var extra interface{}
		err := dec.Decode(&extra)
		if errors.Is(err, io.EOF) {
			return &c, nil
		}
		if err != nil {
			return nil, yamlError(err)
		}
		if extra != nil {
			return nil, errors.New("body must hold a single YAML document")
		}
	}
}

// UnmarshalYAML fills the agent's defaults and decodes strictly (when the
// decoder is strict). It does not validate; use ParseInstanceConfig.
func (c *InstanceConfig) UnmarshalYAML(unmarshal func(interface{}) error) error {
	*c = DefaultInstanceConfig()
	return unmarshal((*rawInstanceConfig)(c))
}

// MarshalYAML returns the config in its normalized form: the name set, the
// defaults filled, fields in the agent's order and secrets in clear. Zero
// values are left out except where the default is not zero, so an explicit
// `send_exemplars: false` survives a round trip. Use Scrubbed for anything
// shown to users.
func (c *InstanceConfig) MarshalYAML() (interface{}, error) {
	return (*rawInstanceConfig)(c), nil
}

// Encode returns the normalized YAML (see MarshalYAML). This is what is
// stored and what agents receive.
func (c *InstanceConfig) Encode() ([]byte, error) {
	return yaml.Marshal(c)
}

// JobNames returns the scrape configs' job names in order, for the
// server's check that no other config uses them.
func (c *InstanceConfig) JobNames() []string {
	out := make([]string, 0, len(c.ScrapeConfigs))
	for _, sc := range c.ScrapeConfigs {
		if sc != nil {
			out = append(out, sc.JobName)
		}
	}
	return out
}

// RemoteWriteName returns the name the agent uses for the remote_write at
// index i: its own name, or "<instance>-<6 hex digits of its hash>" when
// unnamed. It panics if i is out of range.
func (c *InstanceConfig) RemoteWriteName(i int) (string, error) {
	rw := c.RemoteWrite[i]
	if rw.Name != "" {
		return rw.Name, nil
	}
	b, err := yaml.Marshal(rw)
	if err != nil {
		return "", err
	}
	sum := md5.Sum(b)
	return c.Name + "-" + hex.EncodeToString(sum[:])[:6], nil
}

// validate runs the agent's checks in the agent's order: instance fields,
// scrape configs, remote writes, then the *_file rule.
func (c *InstanceConfig) validate(opts InstanceConfigOptions) error {
	if err := ConfigName(c.Name); err != nil {
		return err
	}
	if err := c.checkDurations(); err != nil {
		return err
	}
	if err := checkRelabelList("host_filter_relabel_configs", c.HostFilterRelabelConfigs); err != nil {
		return err
	}
	if err := c.checkScrapeConfigs(); err != nil {
		return err
	}
	if err := c.checkRemoteWrites(); err != nil {
		return err
	}
	if opts.DangerousAllowReadingFiles {
		return nil
	}
	return c.checkNoFiles()
}

// checkDurations validates the four WAL durations.
func (c *InstanceConfig) checkDurations() error {
	switch {
	case c.WALTruncateFrequency <= 0:
		return errors.New("wal_truncate_frequency must be greater than 0s")
	case c.RemoteFlushDeadline <= 0:
		return errors.New("remote_flush_deadline must be greater than 0s")
	case c.MinWALTime < 0:
		return errors.New("min_wal_time must not be negative")
	case c.MinWALTime > c.MaxWALTime:
		return errors.New("min_wal_time must be less than max_wal_time")
	}
	return nil
}

// checkScrapeConfigs checks intervals against the defaults the agent would
// fill in and requires job names to be unique within the config.
func (c *InstanceConfig) checkScrapeConfigs() error {
	jobs := make(map[string]bool, len(c.ScrapeConfigs))
	for _, sc := range c.ScrapeConfigs {
		if sc == nil {
			return errors.New("empty or null scrape config section")
		}
		interval := sc.ScrapeInterval
		if interval == 0 {
			interval = globalScrapeInterval
		}
		if sc.ScrapeTimeout > interval {
			return fmt.Errorf("scrape timeout greater than scrape interval for scrape config with job name %q", sc.JobName)
		}
		if time.Duration(interval) > c.WALTruncateFrequency {
			return fmt.Errorf("scrape interval greater than wal_truncate_frequency for scrape config with job name %q", sc.JobName)
		}
		if jobs[sc.JobName] {
			return fmt.Errorf("found multiple scrape configs with job name %q", sc.JobName)
		}
		jobs[sc.JobName] = true
	}
	return nil
}

// checkRemoteWrites requires absolute http(s) URLs and unique names,
// generating the agent's name for unnamed entries.
func (c *InstanceConfig) checkRemoteWrites() error {
	names := make(map[string]bool, len(c.RemoteWrite))
	for i, rw := range c.RemoteWrite {
		if rw == nil {
			return errors.New("empty or null remote write config section")
		}
		if err := rw.checkURL(); err != nil {
			return fmt.Errorf("remote_write at index %d: %w", i, err)
		}
		name, err := c.RemoteWriteName(i)
		if err != nil {
			return fmt.Errorf("remote_write at index %d: %w", i, err)
		}
		if names[name] {
			if rw.Name == "" {
				return errors.New("found two identical remote_write configs")
			}
			return fmt.Errorf("found duplicate remote write configs with name %q", name)
		}
		names[name] = true
	}
	return nil
}
