package agent

import (
	"fmt"
	"net/url"
	"time"

	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"

	"github.com/nomadlike/nomadlike/nomadlike"
	"github.com/nomadlike/nomadlike/nomadlike/hostmetrics"
)

// ServerHostMetricsConfig is server { host_metrics {} }: how long the
// servers keep the host metrics nodes push, and where else they ship them.
type ServerHostMetricsConfig struct {
	// Retention is how long the embedded TSDB keeps samples.
	Retention *string `hcl:"retention,optional"`
	// RemoteWrite blocks send every ingested series to a
	// Prometheus-compatible store as well.
	RemoteWrite []*HostMetricsRemoteWrite `hcl:"remote_write,block"`
}

// HostMetricsRemoteWrite is one remote_write {} block: Prometheus'
// remote_write settings an operator needs most, in HCL.
type HostMetricsRemoteWrite struct {
	URL     string            `hcl:"url"`
	Name    *string           `hcl:"name,optional"`
	Headers map[string]string `hcl:"headers,optional" secret:"true"`
	// BearerToken and BasicAuth authenticate to the store (one of them).
	BearerToken *string               `hcl:"bearer_token,optional"`
	BasicAuth   *HostMetricsBasicAuth `hcl:"basic_auth,block"`
	// RemoteTimeout bounds one send (Prometheus' default: 30s).
	RemoteTimeout *string `hcl:"remote_timeout,optional"`
	// CAFile and InsecureSkipVerify configure TLS to an https URL.
	CAFile             *string `hcl:"ca_file,optional"`
	InsecureSkipVerify *bool   `hcl:"insecure_skip_verify,optional"`
}

// HostMetricsBasicAuth is a basic_auth {} block.
type HostMetricsBasicAuth struct {
	Username string `hcl:"username"`
	Password string `hcl:"password"`
}

func defaultServerHostMetrics() *ServerHostMetricsConfig {
	return &ServerHostMetricsConfig{Retention: ptr("15d")}
}

// parseRetention takes Prometheus' durations (15d, 2w) as well as Go's.
func parseRetention(s string) (time.Duration, error) {
	if d, err := model.ParseDuration(s); err == nil {
		return time.Duration(d), nil
	}
	return time.ParseDuration(s)
}

// validate checks server { host_metrics {} }; each error names the field.
func (h *ServerHostMetricsConfig) validate(add func(string, ...any)) {
	if h == nil {
		return
	}
	const p = "server.host_metrics"
	if h.Retention != nil {
		if d, err := parseRetention(*h.Retention); err != nil || d < time.Hour {
			add("%s.retention: %q must be a duration of at least 1h such as 15d", p, *h.Retention)
		}
	}
	names := map[string]bool{}
	for i, rw := range h.RemoteWrite {
		where := fmt.Sprintf("%s.remote_write #%d", p, i+1)
		if _, err := rw.prometheus(); err != nil {
			add("%s: %v", where, err)
		}
		if rw.Name != nil {
			if names[*rw.Name] {
				add("%s: name %q is used twice", where, *rw.Name)
			}
			names[*rw.Name] = true
		}
	}
}

// prometheus is the block as Prometheus' own remote_write config, with
// Prometheus' defaults for what the block does not say.
func (rw *HostMetricsRemoteWrite) prometheus() (*promconfig.RemoteWriteConfig, error) {
	u, err := url.Parse(rw.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("url %q must be an http(s) URL such as http://prometheus:9090/api/v1/write", rw.URL)
	}
	c := promconfig.DefaultRemoteWriteConfig
	c.URL = &config.URL{URL: u}
	c.Headers = rw.Headers
	c.Name = deref(rw.Name)
	if rw.RemoteTimeout != nil {
		d, err := time.ParseDuration(*rw.RemoteTimeout)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("remote_timeout %q must be a positive duration such as 30s", *rw.RemoteTimeout)
		}
		c.RemoteTimeout = model.Duration(d)
	}
	c.HTTPClientConfig = config.DefaultHTTPClientConfig
	if rw.BearerToken != nil {
		c.HTTPClientConfig.Authorization = &config.Authorization{Type: "Bearer", Credentials: config.Secret(*rw.BearerToken)}
	}
	if rw.BasicAuth != nil {
		c.HTTPClientConfig.BasicAuth = &config.BasicAuth{Username: rw.BasicAuth.Username, Password: config.Secret(rw.BasicAuth.Password)}
	}
	c.HTTPClientConfig.TLSConfig.CAFile = deref(rw.CAFile)
	c.HTTPClientConfig.TLSConfig.InsecureSkipVerify = deref(rw.InsecureSkipVerify)
	if err := c.HTTPClientConfig.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// serverConfig is the server's runtime form of a validated block.
func (h *ServerHostMetricsConfig) serverConfig() nomadlike.HostMetricsConfig {
	out := nomadlike.HostMetricsConfig{Retention: hostmetrics.DefaultRetention}
	if h.Retention != nil {
		out.Retention, _ = parseRetention(*h.Retention)
	}
	for _, rw := range h.RemoteWrite {
		c, _ := rw.prometheus()
		out.RemoteWrite = append(out.RemoteWrite, c)
	}
	return out
}

// self is the block for /v1/agent/self: credentials are left out, and a
// URL's user info is redacted.
func (h *ServerHostMetricsConfig) self() map[string]any {
	var rws []map[string]string
	for _, rw := range h.RemoteWrite {
		u := rw.URL
		if p, err := url.Parse(u); err == nil && p.User != nil {
			p.User = url.User(redact("x"))
			u = p.String()
		}
		rws = append(rws, map[string]string{"URL": u, "Name": deref(rw.Name)})
	}
	return map[string]any{"Retention": deref(h.Retention), "RemoteWrite": rws}
}
