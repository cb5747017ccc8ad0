package agent

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/nomadlike/nomadlike/agent/hostmetrics"
	"github.com/nomadlike/nomadlike/structs"
)

// HostMetricsConfig is client { host_metrics {} }: what the client
// collects for spec 004's payload and how it buffers it for the servers.
type HostMetricsConfig struct {
	Enabled *bool `hcl:"enabled,optional"`
	// Interval is how often a payload is collected and pushed.
	Interval *string `hcl:"interval,optional"`
	// Buffer is how many unsent payloads are kept while no server takes
	// them; the oldest goes first.
	Buffer *int `hcl:"buffer,optional"`
	// DiskPath is the filesystem whose usage is reported.
	DiskPath *string `hcl:"disk_path,optional"`
	// DockerSocket is the Docker Engine API socket; absent, no
	// containers are reported.
	DockerSocket *string `hcl:"docker_socket,optional"`
	// TopProcesses is the length of the by-CPU and by-memory lists.
	TopProcesses *int `hcl:"top_processes,optional"`
	// Checks are health checks: check "http|tcp|tls" {}.
	Checks []*HostMetricsCheck `hcl:"check,block"`
}

// HostMetricsCheck is one check "<kind>" {} block. Unset fields take
// hostmetrics' defaults (interval: the block's; timeout: 5s).
type HostMetricsCheck struct {
	Kind      string  `hcl:"kind,label"`
	Name      *string `hcl:"name,optional"`
	Container *string `hcl:"container,optional"`
	Interval  *string `hcl:"interval,optional"`
	Timeout   *string `hcl:"timeout,optional"`
	// http
	URL          *string `hcl:"url,optional"`
	ExpectStatus *int    `hcl:"expect_status,optional"`
	// tcp and tls
	Host *string `hcl:"host,optional"`
	Port *int    `hcl:"port,optional"`
	// tls (and https URLs)
	ServerName         *string `hcl:"server_name,optional"`
	CAFile             *string `hcl:"ca_file,optional"`
	InsecureSkipVerify *bool   `hcl:"insecure_skip_verify,optional"`
}

// Bounds of client.host_metrics: an interval under a second would make
// the agent a load on its own host, and the buffer is held in memory.
const (
	hostMetricsMinInterval = time.Second
	hostMetricsMaxBuffer   = 100000
	hostMetricsMaxTop      = 1000
)

func defaultHostMetrics() *HostMetricsConfig {
	return &HostMetricsConfig{Enabled: ptr(true), Interval: ptr("10s"), Buffer: ptr(hostmetrics.DefaultBufferSize),
		DiskPath: ptr(hostmetrics.DefaultDiskPath), DockerSocket: ptr(hostmetrics.DefaultDockerSocket),
		TopProcesses: ptr(hostmetrics.DefaultTopProcesses)}
}

// validate checks client { host_metrics {} }; each error names the field.
func (h *HostMetricsConfig) validate(add func(string, ...any)) {
	if h == nil {
		return
	}
	const p = "client.host_metrics"
	if h.Interval != nil {
		if d, err := time.ParseDuration(*h.Interval); err != nil || d < hostMetricsMinInterval {
			add("%s.interval: %q must be a duration of at least %s such as 10s", p, *h.Interval, hostMetricsMinInterval)
		}
	}
	if h.Buffer != nil && (*h.Buffer < 1 || *h.Buffer > hostMetricsMaxBuffer) {
		add("%s.buffer: %d must be between 1 and %d", p, *h.Buffer, hostMetricsMaxBuffer)
	}
	if h.TopProcesses != nil && (*h.TopProcesses < 1 || *h.TopProcesses > hostMetricsMaxTop) {
		add("%s.top_processes: %d must be between 1 and %d", p, *h.TopProcesses, hostMetricsMaxTop)
	}
	if h.DiskPath != nil && *h.DiskPath == "" {
		add("%s.disk_path: must not be empty", p)
	}
	if h.DockerSocket != nil && *h.DockerSocket == "" {
		add("%s.docker_socket: must not be empty", p)
	}
	seen := map[string]bool{}
	for i, ch := range h.Checks {
		name := fmt.Sprintf("#%d", i+1)
		if ch.Name != nil {
			name = fmt.Sprintf("%q", *ch.Name)
		}
		where := fmt.Sprintf("%s.check %q %s", p, ch.Kind, name)
		if ch.Name != nil {
			if *ch.Name == "" {
				add("%s: name must not be empty (leave it out instead)", where)
			}
			key := ch.Kind + "\x00" + *ch.Name
			if seen[key] {
				add("%s: defined twice (names are unique per kind)", where)
			}
			seen[key] = true
		}
		ch.validate(where, add)
	}
}

func (ch *HostMetricsCheck) validate(where string, add func(string, ...any)) {
	if ch.Interval != nil {
		if d, err := time.ParseDuration(*ch.Interval); err != nil || d < hostMetricsMinInterval {
			add("%s: interval %q must be a duration of at least %s such as 30s", where, *ch.Interval, hostMetricsMinInterval)
		}
	}
	if ch.Timeout != nil {
		if d, err := time.ParseDuration(*ch.Timeout); err != nil || d <= 0 {
			add("%s: timeout %q must be a positive duration such as 5s", where, *ch.Timeout)
		}
	}
	// notFor names the attributes set that the kind does not use.
	notFor := func(attrs map[string]bool) {
		for attr, set := range attrs {
			if set {
				add("%s: %s is not an attribute of check %q", where, attr, ch.Kind)
			}
		}
	}
	switch ch.Kind {
	case hostmetrics.CheckHTTP:
		if ch.URL == nil {
			add("%s: url is required", where)
		} else if u, err := url.Parse(*ch.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("%s: url %q must be an http(s) URL such as http://127.0.0.1:8080/health", where, *ch.URL)
		}
		if ch.ExpectStatus != nil && (*ch.ExpectStatus < 100 || *ch.ExpectStatus > 599) {
			add("%s: expect_status %d is not an HTTP status", where, *ch.ExpectStatus)
		}
		notFor(map[string]bool{"host": ch.Host != nil, "port": ch.Port != nil})
	case hostmetrics.CheckTCP, hostmetrics.CheckTLS:
		if ch.Host == nil || *ch.Host == "" {
			add("%s: host is required", where)
		}
		if ch.Port == nil {
			add("%s: port is required", where)
		} else if *ch.Port < 1 || *ch.Port > 65535 {
			add("%s: port %d must be between 1 and 65535", where, *ch.Port)
		}
		notFor(map[string]bool{"url": ch.URL != nil, "expect_status": ch.ExpectStatus != nil})
		if ch.Kind == hostmetrics.CheckTCP {
			notFor(map[string]bool{"server_name": ch.ServerName != nil, "ca_file": ch.CAFile != nil,
				"insecure_skip_verify": ch.InsecureSkipVerify != nil})
		}
	default:
		add("%s: unknown check kind %q (want http, tcp or tls)", where, ch.Kind)
		return
	}
	if ch.CAFile != nil {
		if pem, err := os.ReadFile(*ch.CAFile); err != nil {
			add("%s: ca_file: %v", where, err)
		} else if !x509.NewCertPool().AppendCertsFromPEM(pem) {
			add("%s: ca_file %s holds no PEM certificate", where, *ch.CAFile)
		}
	}
}

// collectorConfig is the hostmetrics.Config of a validated block, with
// what the agent knows of itself.
func (h *HostMetricsConfig) collectorConfig(agentVersion string, serverHealthy func() bool) hostmetrics.Config {
	cfg := hostmetrics.Config{Interval: h.interval(), DiskPath: deref(h.DiskPath),
		DockerSocket: deref(h.DockerSocket), TopProcesses: deref(h.TopProcesses),
		AgentVersion: agentVersion, ServerHealthy: serverHealthy}
	for _, ch := range h.Checks {
		c := hostmetrics.Check{Kind: ch.Kind, Name: deref(ch.Name), Container: deref(ch.Container),
			URL: deref(ch.URL), Host: deref(ch.Host), Port: deref(ch.Port), ServerName: deref(ch.ServerName),
			CAFile: deref(ch.CAFile), InsecureSkipVerify: deref(ch.InsecureSkipVerify),
			ExpectStatus: deref(ch.ExpectStatus)}
		if ch.Interval != nil {
			c.Interval, _ = time.ParseDuration(*ch.Interval)
		}
		if ch.Timeout != nil {
			c.Timeout, _ = time.ParseDuration(*ch.Timeout)
		}
		cfg.Checks = append(cfg.Checks, c)
	}
	return cfg
}

// pusherConfig is the hostmetrics.PusherConfig of a validated block:
// collect builds a payload (Collector.Collect), send delivers one to a
// server.
func (h *HostMetricsConfig) pusherConfig(collect func(context.Context) *structs.HostMetrics,
	send func(context.Context, []byte) error, logger hclog.Logger) hostmetrics.PusherConfig {
	return hostmetrics.PusherConfig{Interval: h.interval(), BufferSize: deref(h.Buffer), Collect: collect,
		Send: send, Logger: logger}
}

// interval is the collection interval; 0 (hostmetrics' default) if unset.
func (h *HostMetricsConfig) interval() time.Duration {
	if h.Interval == nil {
		return 0
	}
	d, _ := time.ParseDuration(*h.Interval)
	return d
}

// deref is *p, or the zero value for nil (hostmetrics' default).
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
