package validate

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/relabel"
	yaml "go.yaml.in/yaml/v2"
)

func init() {
	// Secrets print in clear everywhere in this process: Encode must give
	// the stored form, and Scrubbed hides them with its own walk. See
	// DESIGN.md ("Secrets").
	commoncfg.MarshalSecretValue = true
}

// Agent defaults for an instance config (static/metrics/instance).
const (
	DefaultWALTruncateFrequency = 60 * time.Minute
	DefaultMinWALTime           = 5 * time.Minute
	DefaultMaxWALTime           = 4 * time.Hour
	DefaultRemoteFlushDeadline  = time.Minute
)

// CheckGlobalConfig is the global config scrape configs are validated
// against when a config is stored: Prometheus' defaults (1m interval, 10s
// timeout). The filled-in values are not kept: the runtime validates the
// configs again with the agent's own global config.
var CheckGlobalConfig = promconfig.DefaultGlobalConfig

// InstanceConfig is a Grafana Agent static-mode metrics_instance_config
// whose scrape and remote_write sections are Prometheus' own types. Build it
// with ParseInstanceConfig. ScrapeConfigs are as decoded: scrape_interval,
// scrape_timeout and the other per-job values that default to the global
// config are unset until the runtime calls ScrapeConfig.Validate with its
// global config (ParseInstanceConfig checked they pass with
// CheckGlobalConfig).
type InstanceConfig struct {
	Name                     string                          `yaml:"name,omitempty"`
	HostFilter               bool                            `yaml:"host_filter,omitempty"`
	HostFilterRelabelConfigs []*relabel.Config               `yaml:"host_filter_relabel_configs,omitempty"`
	ScrapeConfigs            []*promconfig.ScrapeConfig      `yaml:"scrape_configs,omitempty"`
	RemoteWrite              []*promconfig.RemoteWriteConfig `yaml:"remote_write,omitempty"`
	WALTruncateFrequency     time.Duration                   `yaml:"wal_truncate_frequency"`
	MinWALTime               time.Duration                   `yaml:"min_wal_time"`
	MaxWALTime               time.Duration                   `yaml:"max_wal_time"`
	RemoteFlushDeadline      time.Duration                   `yaml:"remote_flush_deadline"`
	WriteStaleOnShutdown     bool                            `yaml:"write_stale_on_shutdown,omitempty"`
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
// errors) with Prometheus' own config types, starting from the agent's
// defaults, replaces the body's name with name, and validates the result
// as the agent's config API does. Errors are *UnmarshalError or
// *ValidationError. An empty body fails with "EOF", as in the agent.
func ParseInstanceConfig(body []byte, name string, opts InstanceConfigOptions) (c *InstanceConfig, err error) {
	defer func() {
		// A panic inside a third-party decoder must not take the server
		// down; it is the body's fault.
		if r := recover(); r != nil {
			c, err = nil, &UnmarshalError{Err: fmt.Errorf("%v", r)}
		}
	}()
	c, err = decodeInstanceConfig(body)
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
			break
		}
		if err != nil {
			return nil, yamlError(err)
		}
		if extra != nil {
			return nil, errors.New("body must hold a single YAML document")
		}
	}
	if err := applyAgentDefaults(&c, body); err != nil {
		return nil, yamlError(err)
	}
	return &c, nil
}

// UnmarshalYAML fills the agent's defaults and decodes strictly (when the
// decoder is strict). It does not validate; use ParseInstanceConfig.
func (c *InstanceConfig) UnmarshalYAML(unmarshal func(interface{}) error) error {
	*c = DefaultInstanceConfig()
	return unmarshal((*rawInstanceConfig)(c))
}

// MarshalYAML returns the config in its normalized form (see Encode).
func (c *InstanceConfig) MarshalYAML() (interface{}, error) {
	return c.tree()
}

// Encode returns the normalized YAML: the name set, the defaults filled,
// fields in Prometheus' order and secrets in clear (URL passwords
// included). Zero values are printed where the default is not zero, so an
// explicit `send_exemplars: false` survives a round trip: Encode is a fixed
// point of ParseInstanceConfig. This is what is stored and what agents
// receive; use Scrubbed for anything shown to users.
func (c *InstanceConfig) Encode() ([]byte, error) {
	t, err := c.tree()
	if err != nil {
		return nil, err
	}
	return yaml.Marshal(t)
}

// tree encodes c with Prometheus' marshalers and then completes what they
// leave out or redact (see fillExplicit).
func (c *InstanceConfig) tree() (yaml.MapSlice, error) {
	t, err := encodeValue((*rawInstanceConfig)(c))
	if err != nil {
		return nil, err
	}
	ms, _ := t.(yaml.MapSlice)
	return ms, nil
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
	t, err := encodeValue(rw)
	if err != nil {
		return "", err
	}
	b, err := yaml.Marshal(t)
	if err != nil {
		return "", err
	}
	sum := md5.Sum(b)
	return c.Name + "-" + hex.EncodeToString(sum[:])[:6], nil
}

// validate runs the agent's checks in the agent's order: instance fields,
// scrape configs, remote writes, then the *_file rule. Prometheus' own
// per-section validation runs on copies, so that what is stored keeps
// unset what the runtime's global config fills in.
func (c *InstanceConfig) validate(opts InstanceConfigOptions) error {
	if err := ConfigName(c.Name); err != nil {
		return err
	}
	if err := c.checkDurations(); err != nil {
		return err
	}
	for _, rc := range c.HostFilterRelabelConfigs {
		if rc == nil {
			return errors.New("empty or null relabeling rule in host_filter_relabel_configs")
		}
		if err := rc.Validate(model.UTF8Validation); err != nil {
			return fmt.Errorf("host_filter_relabel_configs: %w", err)
		}
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

// checkScrapeConfigs runs Prometheus' ScrapeConfig.Validate against
// CheckGlobalConfig on a copy of each scrape config, then the agent's
// checks: interval within wal_truncate_frequency, unique job names.
func (c *InstanceConfig) checkScrapeConfigs() error {
	jobs := make(map[string]bool, len(c.ScrapeConfigs))
	for _, sc := range c.ScrapeConfigs {
		if sc == nil {
			return errors.New("empty or null scrape config section")
		}
		cp, err := copyScrapeConfig(sc)
		if err != nil {
			return err
		}
		if err := cp.Validate(CheckGlobalConfig); err != nil {
			return err
		}
		if cp.Scheme != "http" && cp.Scheme != "https" {
			// Prometheus only finds out when it builds the targets.
			return fmt.Errorf("scheme must be http or https, got %q for scrape config with job name %q", cp.Scheme, sc.JobName)
		}
		if time.Duration(cp.ScrapeInterval) > c.WALTruncateFrequency {
			return fmt.Errorf("scrape interval greater than wal_truncate_frequency for scrape config with job name %q", sc.JobName)
		}
		if jobs[sc.JobName] {
			return fmt.Errorf("found multiple scrape configs with job name %q", sc.JobName)
		}
		jobs[sc.JobName] = true
	}
	return nil
}

// copyScrapeConfig returns a deep copy of sc, for Validate to fill in.
func copyScrapeConfig(sc *promconfig.ScrapeConfig) (*promconfig.ScrapeConfig, error) {
	t, err := encodeValue(sc)
	if err != nil {
		return nil, err
	}
	b, err := yaml.Marshal(t)
	if err != nil {
		return nil, err
	}
	var cp promconfig.ScrapeConfig
	if err := yaml.Unmarshal(b, &cp); err != nil {
		return nil, fmt.Errorf("scrape config with job name %q does not read back: %w", sc.JobName, err)
	}
	return &cp, nil
}

// checkRemoteWrites runs Prometheus' RemoteWriteConfig.Validate, requires
// absolute http(s) URLs and unique names, generating the agent's name for
// unnamed entries.
func (c *InstanceConfig) checkRemoteWrites() error {
	names := make(map[string]bool, len(c.RemoteWrite))
	for i, rw := range c.RemoteWrite {
		if rw == nil {
			return errors.New("empty or null remote write config section")
		}
		if err := rw.Validate(model.UTF8Validation); err != nil {
			return fmt.Errorf("remote_write at index %d: %w", i, err)
		}
		if err := checkRemoteWriteURL(rw.URL); err != nil {
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

// checkRemoteWriteURL requires an absolute http or https URL with a host.
func checkRemoteWriteURL(u *commoncfg.URL) error {
	if u == nil || u.URL == nil {
		return errors.New("url for remote_write is empty")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("url %q must be an absolute http or https URL", u.Redacted())
	}
	return nil
}

// applyAgentDefaults gives remote_write entries the agent's defaults where
// they differ from Prometheus' (send_exemplars and
// queue_config.retry_on_http_429 default to true), unless the body sets
// them. The body is read generically to tell "unset" from "false".
func applyAgentDefaults(c *InstanceConfig, body []byte) error {
	if len(c.RemoteWrite) == 0 {
		return nil
	}
	var doc struct {
		RemoteWrite []map[string]interface{} `yaml:"remote_write"`
	}
	if err := yaml.Unmarshal(body, &doc); err != nil {
		return err
	}
	for i, rw := range c.RemoteWrite {
		if rw == nil || i >= len(doc.RemoteWrite) {
			continue
		}
		raw := doc.RemoteWrite[i]
		if _, set := raw["send_exemplars"]; !set {
			rw.SendExemplars = true
		}
		q, _ := raw["queue_config"].(map[interface{}]interface{})
		if _, set := q["retry_on_http_429"]; !set {
			rw.QueueConfig.RetryOnRateLimit = true
		}
	}
	return nil
}

// redactURL hides the password of a URL's user info, as Prometheus does.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); !ok {
		return s
	}
	return u.Redacted()
}
