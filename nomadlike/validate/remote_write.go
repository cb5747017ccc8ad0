package validate

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// RemoteWriteConfig mirrors Prometheus' config.RemoteWriteConfig. The
// sigv4, azuread and google_iam blocks are kept as generic maps (their
// typed forms would pull in the AWS, Azure and Google SDKs); the *_file
// rule and scrubbing still walk them.
type RemoteWriteConfig struct {
	URL                  string            `yaml:"url"`
	RemoteTimeout        model.Duration    `yaml:"remote_timeout"`
	Headers              map[string]string `yaml:"headers,omitempty"`
	WriteRelabelConfigs  []*RelabelConfig  `yaml:"write_relabel_configs,omitempty"`
	Name                 string            `yaml:"name,omitempty"`
	SendExemplars        bool              `yaml:"send_exemplars"`
	SendNativeHistograms bool              `yaml:"send_native_histograms,omitempty"`
	RoundRobinDNS        bool              `yaml:"round_robin_dns,omitempty"`
	ProtobufMessage      string            `yaml:"protobuf_message,omitempty"`
	FailedRequestLogging bool              `yaml:"failed_request_logging,omitempty"`

	HTTPClientConfig HTTPClientConfig `yaml:",inline"`
	QueueConfig      QueueConfig      `yaml:"queue_config"`
	MetadataConfig   MetadataConfig   `yaml:"metadata_config"`

	SigV4Config     SDConfig `yaml:"sigv4,omitempty"`
	AzureADConfig   SDConfig `yaml:"azuread,omitempty"`
	GoogleIAMConfig SDConfig `yaml:"google_iam,omitempty"`

	ConvertNHCBToClassic bool `yaml:"convert_nhcb_to_classic,omitempty"`
}

// QueueConfig mirrors Prometheus' config.QueueConfig.
type QueueConfig struct {
	Capacity          int            `yaml:"capacity"`
	MaxShards         int            `yaml:"max_shards"`
	MinShards         int            `yaml:"min_shards"`
	MaxSamplesPerSend int            `yaml:"max_samples_per_send"`
	BatchSendDeadline model.Duration `yaml:"batch_send_deadline"`
	MinBackoff        model.Duration `yaml:"min_backoff"`
	MaxBackoff        model.Duration `yaml:"max_backoff"`
	RetryOnRateLimit  bool           `yaml:"retry_on_http_429"`
	SampleAgeLimit    model.Duration `yaml:"sample_age_limit,omitempty"`
}

// MetadataConfig mirrors Prometheus' config.MetadataConfig.
type MetadataConfig struct {
	Send              bool           `yaml:"send"`
	SendInterval      model.Duration `yaml:"send_interval"`
	MaxSamplesPerSend int            `yaml:"max_samples_per_send"`
}

// rawRemoteWriteConfig decodes a RemoteWriteConfig without recursing.
type rawRemoteWriteConfig RemoteWriteConfig

// protobufMessages are the accepted protobuf_message values.
var protobufMessages = map[string]bool{"prometheus.WriteRequest": true, "io.prometheus.write.v2.Request": true}

// reservedHeaders are headers remote_write may not set (Prometheus' list).
var reservedHeaders = map[string]bool{
	"host": true, "content-encoding": true, "content-length": true, "content-type": true,
	"user-agent": true, "connection": true, "keep-alive": true, "proxy-authenticate": true,
	"proxy-authorization": true, "www-authenticate": true, "accept-encoding": true,
	"x-prometheus-remote-write-version": true, "x-prometheus-remote-read-version": true,
	"x-amz-date": true, "x-amz-security-token": true, "x-amz-content-sha256": true,
}

// defaultRemoteWriteConfig is Prometheus' default with the agent's two
// changes: send_exemplars and queue_config.retry_on_http_429 are true.
func defaultRemoteWriteConfig() RemoteWriteConfig {
	return RemoteWriteConfig{
		RemoteTimeout: model.Duration(30 * time.Second),
		SendExemplars: true,
		QueueConfig: QueueConfig{
			Capacity:          10000,
			MaxShards:         50,
			MinShards:         1,
			MaxSamplesPerSend: 2000,
			BatchSendDeadline: model.Duration(5 * time.Second),
			MinBackoff:        model.Duration(30 * time.Millisecond),
			MaxBackoff:        model.Duration(5 * time.Second),
			RetryOnRateLimit:  true,
		},
		MetadataConfig: MetadataConfig{
			Send:              true,
			SendInterval:      model.Duration(time.Minute),
			MaxSamplesPerSend: 2000,
		},
		HTTPClientConfig: defaultHTTPClientConfig(),
	}
}

// UnmarshalYAML fills the defaults, decodes strictly and runs the checks
// Prometheus runs while decoding.
func (c *RemoteWriteConfig) UnmarshalYAML(unmarshal func(interface{}) error) error {
	*c = defaultRemoteWriteConfig()
	if err := unmarshal((*rawRemoteWriteConfig)(c)); err != nil {
		return err
	}
	if c.URL == "" {
		return errors.New("url for remote_write is empty")
	}
	if _, err := url.Parse(c.URL); err != nil {
		return fmt.Errorf("remote_write url: %w", err)
	}
	if err := c.check(); err != nil {
		return fmt.Errorf("remote_write to %s: %w", redactURL(c.URL), err)
	}
	return nil
}

// check validates everything but the url.
func (c *RemoteWriteConfig) check() error {
	if err := checkRelabelList("write_relabel_configs", c.WriteRelabelConfigs); err != nil {
		return err
	}
	if err := checkRemoteWriteHeaders(c.Headers); err != nil {
		return err
	}
	if c.ProtobufMessage != "" && !protobufMessages[c.ProtobufMessage] {
		return fmt.Errorf("invalid protobuf_message value %q", c.ProtobufMessage)
	}
	if err := c.HTTPClientConfig.check(); err != nil {
		return err
	}
	if err := c.QueueConfig.check(); err != nil {
		return err
	}
	return c.checkAuth()
}

// checkRemoteWriteHeaders rejects headers Prometheus reserves.
func checkRemoteWriteHeaders(headers map[string]string) error {
	for h := range headers {
		l := strings.ToLower(h)
		if l == "authorization" {
			return errors.New("authorization header must be changed via the basic_auth, authorization, oauth2, sigv4, azuread or google_iam parameter")
		}
		if reservedHeaders[l] {
			return fmt.Errorf("%s is a reserved header. It must not be changed", h)
		}
	}
	return nil
}

// checkAuth allows at most one authentication method.
func (c *RemoteWriteConfig) checkAuth() error {
	var set []string
	add := func(name string, present bool) {
		if present {
			set = append(set, name)
		}
	}
	add("basic_auth", c.HTTPClientConfig.BasicAuth != nil)
	add("authorization", c.HTTPClientConfig.Authorization != nil)
	add("oauth2", c.HTTPClientConfig.OAuth2 != nil)
	add("sigv4", c.SigV4Config != nil)
	add("azuread", c.AzureADConfig != nil)
	add("google_iam", c.GoogleIAMConfig != nil)
	if len(set) > 1 {
		return fmt.Errorf("at most one of basic_auth, authorization, oauth2, sigv4, azuread or google_iam must be configured. Currently configured: %v", set)
	}
	return nil
}

// check applies Prometheus' queue_config rules.
func (q *QueueConfig) check() error {
	switch {
	case q.MaxShards <= 0:
		return errors.New("remote write queue max_shards must be positive")
	case q.MinShards <= 0:
		return errors.New("remote write queue min_shards must be positive")
	case q.MinShards > q.MaxShards:
		return errors.New("remote write queue min_shards must not be greater than max_shards")
	case q.MaxSamplesPerSend <= 0:
		return errors.New("remote write queue max_samples_per_send must be positive")
	case q.Capacity <= 0:
		return errors.New("remote write queue capacity must be positive")
	case q.MaxBackoff < q.MinBackoff:
		return errors.New("remote write queue max_backoff must not be less than min_backoff")
	}
	return nil
}

// checkURL requires an absolute http(s) URL with a host.
func (c *RemoteWriteConfig) checkURL() error {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("url %q must be an absolute http or https URL", redactURL(c.URL))
	}
	return nil
}

// redactURL hides the password of a URL's user info.
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
