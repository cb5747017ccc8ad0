package agent

import (
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/nomadlike/nomadlike/nomadlike"
	"github.com/nomadlike/nomadlike/structs"
)

// Config is what an operator writes: HCL files merged in order, then
// flags. Every field is a pointer (or a nil slice/map) so that "not set"
// differs from a zero value and a later source overrides only what it
// sets. Finalize fills the rest with defaults.
type Config struct {
	// Region and Datacenter the agent runs in.
	Region     *string `hcl:"region,optional"`
	Datacenter *string `hcl:"datacenter,optional"`
	// NodeName defaults to the hostname.
	NodeName *string `hcl:"name,optional"`
	// DataDir holds the raft data (servers) and the node identity
	// (clients). Required outside -dev.
	DataDir *string `hcl:"data_dir,optional"`
	// BindAddr is the address every listener binds unless addresses{}
	// says otherwise.
	BindAddr *string `hcl:"bind_addr,optional"`
	// LogLevel is trace, debug, info, warn or error; LogJSON switches the
	// log format.
	LogLevel *string `hcl:"log_level,optional"`
	LogJSON  *bool   `hcl:"log_json,optional"`
	// LogFile also writes the log to a file (a directory gets
	// nomadlike.log), rotated by size and age, with at most
	// LogRotateMaxFiles archives kept (0: all): Nomad's log_file keys.
	LogFile           *string `hcl:"log_file,optional"`
	LogRotateBytes    *int    `hcl:"log_rotate_bytes,optional"`
	LogRotateDuration *string `hcl:"log_rotate_duration,optional"`
	LogRotateMaxFiles *int    `hcl:"log_rotate_max_files,optional"`
	// EnableDebug mounts the profiling endpoints without ACLs.
	EnableDebug *bool `hcl:"enable_debug,optional"`
	// EnableConfigReadAPI serves GET /-/config (Grafana Agent's
	// -config.enable-read-api); off, it is a 404.
	EnableConfigReadAPI *bool `hcl:"enable_config_read_api,optional"`
	// DisableSupportBundle turns GET /-/support off (403), as Grafana
	// Agent's -disable-support-bundle.
	DisableSupportBundle *bool `hcl:"disable_support_bundle,optional"`
	// LeaveOnInt and LeaveOnTerm make the agent leave the cluster
	// gracefully on SIGINT / SIGTERM instead of just stopping.
	LeaveOnInt  *bool `hcl:"leave_on_interrupt,optional"`
	LeaveOnTerm *bool `hcl:"leave_on_terminate,optional"`

	Ports          *Ports        `hcl:"ports,block"`
	Addresses      *Addresses    `hcl:"addresses,block"`
	AdvertiseAddrs *Addresses    `hcl:"advertise,block"`
	Server         *ServerConfig `hcl:"server,block"`
	Client         *ClientConfig `hcl:"client,block"`
	ACL            *ACLConfig    `hcl:"acl,block"`
	// TLS is Nomad's tls{} stanza (agent/tls.go).
	TLS *TLSConfig `hcl:"tls,block"`
	// RateLimits limit requests per token and API family.
	RateLimits []*RateLimitConfig `hcl:"rate_limit,block"`
	// Limits caps connections per client address and sets the HTTP
	// server's timeouts (agent/limits.go).
	Limits *Limits `hcl:"limits,block"`
	// Telemetry is Nomad's telemetry{} stanza (agent/telemetry.go).
	Telemetry *TelemetryConfig `hcl:"telemetry,block"`
	// Integrations are Grafana Agent's built-in metrics integrations
	// (agent/integrations_config.go).
	Integrations *IntegrationsConfig `hcl:"integrations,block"`
	// Assistant configures the ops assistant on servers
	// (agent/assistant_config.go).
	Assistant *AssistantConfig `hcl:"assistant,block"`

	// DevMode is set by -dev only.
	DevMode bool
	// Files lists the config files that were loaded.
	Files []string

	// serverHook lets tests adjust the server's runtime config (timings
	// no operator should need) before the server starts.
	serverHook func(*nomadlike.Config)
}

// Ports are the three listeners' ports.
type Ports struct {
	HTTP *int `hcl:"http,optional"`
	RPC  *int `hcl:"rpc,optional"`
	Serf *int `hcl:"serf,optional"`
}

// Addresses are per-listener bind (addresses{}) or advertise
// (advertise{}) addresses. Advertise values may carry a port.
type Addresses struct {
	HTTP *string `hcl:"http,optional"`
	RPC  *string `hcl:"rpc,optional"`
	Serf *string `hcl:"serf,optional"`
}

// ServerConfig is the server{} block.
type ServerConfig struct {
	Enabled         *bool `hcl:"enabled,optional"`
	BootstrapExpect *int  `hcl:"bootstrap_expect,optional"`
	// StartJoin is joined at start; failing to join any fails the start.
	StartJoin []string `hcl:"start_join,optional"`
	// RetryJoin is retried every RetryInterval until one join succeeds
	// (RetryMaxAttempts 0 = forever).
	RetryJoin        []string `hcl:"retry_join,optional"`
	RetryInterval    *string  `hcl:"retry_interval,optional"`
	RetryMaxAttempts *int     `hcl:"retry_max,optional"`

	HeartbeatGrace             *string  `hcl:"heartbeat_grace,optional"`
	MinHeartbeatTTL            *string  `hcl:"min_heartbeat_ttl,optional"`
	MaxHeartbeatsPerSecond     *float64 `hcl:"max_heartbeats_per_second,optional"`
	FailoverHeartbeatTTL       *string  `hcl:"failover_heartbeat_ttl,optional"`
	DeadServerCleanupThreshold *string  `hcl:"dead_server_cleanup_threshold,optional"`
	// RaftMultiplier scales raft's timing (1 = a LAN's 300 ms heartbeat
	// timeout, up to 10 for slow networks), as Nomad's raft_multiplier.
	RaftMultiplier        *int    `hcl:"raft_multiplier,optional"`
	RaftSnapshotThreshold *int    `hcl:"raft_snapshot_threshold,optional"`
	RaftSnapshotInterval  *string `hcl:"raft_snapshot_interval,optional"`
	RaftTrailingLogs      *int    `hcl:"raft_trailing_logs,optional"`
	// Encrypt is the gossip encryption key: base64 of 16, 24 or 32
	// bytes (`nomadlike operator gossip keygen`). Servers without the
	// same key cannot join the pool.
	Encrypt *string `hcl:"encrypt,optional" secret:"true"`

	// DangerousAllowReadingFiles accepts agent instance configs that
	// read credentials from files on the agents (Grafana Agent's
	// scraping_service setting of the same name).
	DangerousAllowReadingFiles *bool `hcl:"dangerous_allow_reading_files,optional"`
	// MaxContentsBytes bounds a pipeline's contents and a config body.
	MaxContentsBytes *int `hcl:"max_contents_bytes,optional"`
	// RevisionRetention keeps the last N revisions per pipeline and
	// config; 0 keeps all.
	RevisionRetention *int `hcl:"revision_retention,optional"`
	// RaftLogStore picks the raft log's storage for a new data dir.
	RaftLogStore *RaftLogStoreConfig `hcl:"raft_logstore,block"`
	// NumSchedulers and EnabledSchedulers size and type the scheduler
	// workers at start, as Nomad's (default: one per CPU, every type).
	NumSchedulers     *int     `hcl:"num_schedulers,optional"`
	EnabledSchedulers []string `hcl:"enabled_schedulers,optional"`
	// NodeGCThreshold is how long a node stays down before the _core
	// scheduler deletes it, as Nomad's node_gc_threshold.
	NodeGCThreshold *string `hcl:"node_gc_threshold,optional"`
	// HostMetrics configures the store of the host metrics nodes push.
	HostMetrics *ServerHostMetricsConfig `hcl:"host_metrics,block"`
}

// RaftLogStoreConfig is the server{ raft_logstore{} } block, as Nomad's.
type RaftLogStoreConfig struct {
	// Backend is "wal" (raft-wal: one fsync per append) or "boltdb"
	// (raft-boltdb: two); unset or "" picks raft-wal. It applies to a new
	// data dir; an existing raft store keeps its backend.
	Backend *string `hcl:"backend,optional"`
}

// ClientConfig is the client{} block.
type ClientConfig struct {
	Enabled *bool `hcl:"enabled,optional"`
	// Servers are RPC addresses (host:port) of servers to register with.
	Servers []string          `hcl:"servers,optional"`
	Meta    map[string]string `hcl:"meta,optional"`
	// Token is the ACL secret the client registers and heartbeats
	// with; with ACLs on it needs node:write.
	Token *string `hcl:"token,optional"`
	// PipelineFile is where the client writes the merged contents of
	// its assigned pipelines (atomically); "" writes nothing (the
	// assignment is still reported).
	PipelineFile *string `hcl:"pipeline_file,optional"`
	// ReloadURL is POSTed after the pipeline file changed, such as a
	// collector's /-/reload.
	ReloadURL *string `hcl:"reload_url,optional"`
	// Metrics configures the metrics instances the client runs.
	Metrics *MetricsConfig `hcl:"metrics,block"`
	// HostMetrics configures the host metrics the client pushes (spec
	// 004's payload).
	HostMetrics *HostMetricsConfig `hcl:"host_metrics,block"`
	// Logs configures the logs instances the client runs.
	Logs *LogsConfig `hcl:"logs,block"`
}

// LogsConfig is client { logs {} }: where positions files live and the
// agent's own logs instances.
type LogsConfig struct {
	// PositionsDirectory holds each instance's positions file; "" is
	// <data_dir>/logs.
	PositionsDirectory *string `hcl:"positions_directory,optional"`
	// Instances are local logs instance configs.
	Instances []*LogsInstance `hcl:"instance,block"`
}

// LogsInstance is one instance "<name>" {} block: a logs instance config
// (Grafana Agent's logs.configs entry) given inline (config) or in a file
// (config_file).
type LogsInstance struct {
	Name       string  `hcl:"name,label"`
	Config     *string `hcl:"config,optional" secret:"yaml"`
	ConfigFile *string `hcl:"config_file,optional"`
}

// MetricsConfig is client { metrics {} }: where instance WALs live, the
// global section every instance shares (Grafana Agent's metrics.global),
// and the agent's own local instances.
type MetricsConfig struct {
	// WALDirectory holds one WAL per instance; "" is <data_dir>/metrics.
	WALDirectory   *string           `hcl:"wal_directory,optional"`
	ScrapeInterval *string           `hcl:"scrape_interval,optional"`
	ScrapeTimeout  *string           `hcl:"scrape_timeout,optional"`
	ExternalLabels map[string]string `hcl:"external_labels,optional"`
	// StatusInterval is how often instance health is checked for changes
	// to report to the servers.
	StatusInterval *string `hcl:"status_interval,optional"`
	// Instances are local instance configs, run beside assigned ones.
	Instances []*MetricsInstance `hcl:"instance,block"`
}

// MetricsInstance is one instance "<name>" {} block: a
// metrics_instance_config given inline (config) or in a file
// (config_file).
type MetricsInstance struct {
	Name       string  `hcl:"name,label"`
	Config     *string `hcl:"config,optional" secret:"yaml"`
	ConfigFile *string `hcl:"config_file,optional"`
	// AgentIntegration adds a scrape job for this agent's own
	// /v1/metrics (Grafana Agent's "agent" integration).
	AgentIntegration *bool `hcl:"agent_integration,optional"`
}

// ACLConfig is the acl{} block.
type ACLConfig struct {
	Enabled *bool `hcl:"enabled,optional"`
}

// RateLimitConfig is one rate_limit "<family>" {} block: each token (or
// anonymous caller) gets a bucket of Burst requests refilled at
// RequestsPerSecond, for that API family.
type RateLimitConfig struct {
	Family            string   `hcl:"family,label"`
	RequestsPerSecond *float64 `hcl:"requests_per_second,optional"`
	Burst             *int     `hcl:"burst,optional"`
}

// LoadConfigFile reads one HCL file, or every *.hcl file of a directory in
// name order (sub-directories and other files are skipped), and merges
// them.
func LoadConfigFile(path string) (*Config, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	files := []string{path}
	if fi.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		files = nil
		for _, e := range entries { // ReadDir sorts by name
			if e.IsDir() || filepath.Ext(e.Name()) != ".hcl" {
				continue
			}
			files = append(files, filepath.Join(path, e.Name()))
		}
	}
	out := &Config{}
	for _, f := range files {
		c, err := parseConfigFile(f)
		if err != nil {
			return nil, err
		}
		out.Merge(c)
	}
	return out, nil
}

func parseConfigFile(path string) (*Config, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return ParseConfig(src, path)
}

// ParseConfig parses HCL source; unknown fields are errors naming the
// field and its position.
func ParseConfig(src []byte, filename string) (*Config, error) {
	file, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diagsError(diags, nil)
	}
	c := &Config{}
	if diags := gohcl.DecodeBody(file.Body, nil, c); diags.HasErrors() {
		body, _ := file.Body.(*hclsyntax.Body)
		return nil, diagsError(diags, body)
	}
	c.Files = []string{filename}
	return c, nil
}

// diagsError reports every error of diags, one a line, each with its
// position ("file:line,col") and, when it is about a field of body, the
// field's full name ("server.retry_join"): hcl's own messages say only
// "a number is required" and its Error() shows only the first problem.
func diagsError(diags hcl.Diagnostics, body *hclsyntax.Body) error {
	var lines []string
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		msg := d.Summary
		if d.Detail != "" {
			msg += "; " + d.Detail
		}
		if d.Subject != nil {
			if field := fieldAt(body, d.Subject.Start.Byte, ""); field != "" {
				msg = field + ": " + msg
			}
			msg = d.Subject.String() + ": " + msg
		}
		lines = append(lines, msg)
	}
	return errors.New(strings.Join(lines, "\n"))
}

// fieldAt names the attribute or block of body at byte offset off, as a
// dotted path; "" when off is in none.
func fieldAt(body *hclsyntax.Body, off int, prefix string) string {
	if body == nil {
		return ""
	}
	for name, attr := range body.Attributes {
		if attr.SrcRange.ContainsOffset(off) {
			return prefix + name
		}
	}
	for _, b := range body.Blocks {
		if b.Range().ContainsOffset(off) {
			if inner := fieldAt(b.Body, off, prefix+b.Type+"."); inner != "" {
				return inner
			}
			return prefix + b.Type
		}
	}
	return ""
}

// Merge overlays every field set in o onto c: scalars replace, blocks
// merge field by field, maps merge by key, lists replace.
func (c *Config) Merge(o *Config) {
	if o == nil {
		return
	}
	mergeValue(reflect.ValueOf(c).Elem(), reflect.ValueOf(o).Elem())
	c.DevMode = c.DevMode || o.DevMode
}

func mergeValue(dst, src reflect.Value) {
	for i := 0; i < dst.NumField(); i++ {
		d, s := dst.Field(i), src.Field(i)
		switch s.Kind() {
		case reflect.Pointer:
			if s.IsNil() {
				continue
			}
			if s.Elem().Kind() == reflect.Struct {
				if d.IsNil() {
					d.Set(reflect.New(s.Elem().Type()))
				}
				mergeValue(d.Elem(), s.Elem())
				continue
			}
			v := reflect.New(s.Elem().Type())
			v.Elem().Set(s.Elem())
			d.Set(v)
		case reflect.String:
			// A block's label (provider "openai"): set, it replaces.
			if s.String() != "" && d.CanSet() {
				d.SetString(s.String())
			}
		case reflect.Slice:
			if !s.IsNil() {
				if dst.Type().Field(i).Name == "Files" {
					d.Set(reflect.AppendSlice(d, s))
				} else {
					d.Set(s)
				}
			}
		case reflect.Map:
			if s.IsNil() {
				continue
			}
			if d.IsNil() {
				d.Set(reflect.MakeMap(s.Type()))
			}
			for _, k := range s.MapKeys() {
				d.SetMapIndex(k, s.MapIndex(k))
			}
		}
	}
}

func ptr[T any](v T) *T { return &v }

// DefaultConfig is what an agent runs with before files and flags.
func DefaultConfig() *Config {
	hostname, _ := os.Hostname()
	return &Config{
		Region:     ptr("global"),
		Datacenter: ptr("dc1"),
		NodeName:   ptr(hostname),
		DataDir:    ptr(""),
		BindAddr:   ptr("0.0.0.0"),
		LogLevel:   ptr("INFO"),
		LogJSON:    ptr(false),
		LogFile:    ptr(""), LogRotateBytes: ptr(0), LogRotateDuration: ptr("24h"), LogRotateMaxFiles: ptr(0),
		EnableDebug:         ptr(false),
		EnableConfigReadAPI: ptr(false), DisableSupportBundle: ptr(false),
		LeaveOnInt:  ptr(false),
		LeaveOnTerm: ptr(false),
		Ports:       &Ports{HTTP: ptr(4646), RPC: ptr(4647), Serf: ptr(4648)},
		Addresses:   &Addresses{HTTP: ptr(""), RPC: ptr(""), Serf: ptr("")},
		AdvertiseAddrs: &Addresses{
			HTTP: ptr(""), RPC: ptr(""), Serf: ptr(""),
		},
		Server: &ServerConfig{
			Enabled:                    ptr(false),
			BootstrapExpect:            ptr(0),
			RetryInterval:              ptr("30s"),
			RetryMaxAttempts:           ptr(0),
			HeartbeatGrace:             ptr("10s"),
			MinHeartbeatTTL:            ptr("10s"),
			MaxHeartbeatsPerSecond:     ptr(50.0),
			FailoverHeartbeatTTL:       ptr("5m"),
			DeadServerCleanupThreshold: ptr("10m"),
			RaftMultiplier:             ptr(1),
			RaftSnapshotThreshold:      ptr(8192),
			RaftSnapshotInterval:       ptr("120s"),
			RaftTrailingLogs:           ptr(10240),
			DangerousAllowReadingFiles: ptr(false),
			MaxContentsBytes:           ptr(1 << 20),
			RevisionRetention:          ptr(0),
			Encrypt:                    ptr(""),
			RaftLogStore:               &RaftLogStoreConfig{Backend: ptr("")},
			NumSchedulers:              ptr(runtime.NumCPU()),
			EnabledSchedulers:          slices.Clone(structs.SchedulerTypes),
			NodeGCThreshold:            ptr("24h"),
			HostMetrics:                defaultServerHostMetrics(),
		},
		Client: &ClientConfig{Enabled: ptr(false), Meta: map[string]string{}, Token: ptr(""),
			PipelineFile: ptr(""), ReloadURL: ptr(""),
			Metrics: &MetricsConfig{WALDirectory: ptr(""), ScrapeInterval: ptr("1m"), ScrapeTimeout: ptr("10s"),
				ExternalLabels: map[string]string{}, StatusInterval: ptr("10s")},
			HostMetrics: defaultHostMetrics(),
			Logs:        &LogsConfig{PositionsDirectory: ptr("")}},
		ACL: &ACLConfig{Enabled: ptr(false)},
		TLS: &TLSConfig{EnableHTTP: ptr(false), EnableRPC: ptr(false), CAFile: ptr(""), CertFile: ptr(""),
			KeyFile: ptr(""), VerifyServerHostname: ptr(false), VerifyHTTPSClient: ptr(false), TLSMinVersion: ptr("tls12")},
		Limits:    defaultLimits(),
		Telemetry: defaultTelemetry(),
		Assistant: defaultAssistant(),
	}
}

// DevConfig is -dev: a server and a client in one process on loopback,
// bootstrap_expect 1, debug endpoints on, and a temporary data dir chosen
// at start.
func DevConfig() *Config {
	c := DefaultConfig()
	c.DevMode = true
	c.BindAddr = ptr("127.0.0.1")
	c.NodeName = ptr(*c.NodeName)
	c.EnableDebug = ptr(true)
	c.LogLevel = ptr("DEBUG")
	c.Server.Enabled = ptr(true)
	c.Server.BootstrapExpect = ptr(1)
	c.Client.Enabled = ptr(true)
	// A single node has nobody to fail over to: short TTLs show a
	// client's status change within seconds.
	c.Server.FailoverHeartbeatTTL = ptr("30s")
	return c
}

// Validate checks a merged config; each error names the field.
func (c *Config) Validate() error {
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }

	if !*c.Server.Enabled && !*c.Client.Enabled {
		add("must run as a server, a client or both: set -server and/or -client (or server/client { enabled = true })")
	}
	if *c.Region == "" || strings.ContainsAny(*c.Region, ". ") {
		add("region: %q must be non-empty without dots or spaces", *c.Region)
	}
	if *c.Datacenter == "" || strings.ContainsAny(*c.Datacenter, " ") {
		add("datacenter: %q must be non-empty without spaces", *c.Datacenter)
	}
	if *c.NodeName == "" {
		add("name: must not be empty")
	}
	if *c.DataDir == "" && !c.DevMode {
		add("data_dir: required unless -dev (use -data-dir)")
	}
	if _, err := parseLogLevel(*c.LogLevel); err != nil {
		add("log_level: %v", err)
	}
	for name, p := range map[string]int{"http": *c.Ports.HTTP, "rpc": *c.Ports.RPC, "serf": *c.Ports.Serf} {
		if p < 1 || p > 65535 {
			add("ports.%s: %d is not a port (1-65535)", name, p)
		}
	}
	if net.ParseIP(*c.BindAddr) == nil {
		add("bind_addr: %q is not an IP address", *c.BindAddr)
	}
	for name, a := range map[string]string{"http": *c.Addresses.HTTP, "rpc": *c.Addresses.RPC, "serf": *c.Addresses.Serf} {
		if a != "" && net.ParseIP(a) == nil {
			add("addresses.%s: %q is not an IP address", name, a)
		}
	}
	for name, a := range map[string]string{"http": *c.AdvertiseAddrs.HTTP, "rpc": *c.AdvertiseAddrs.RPC, "serf": *c.AdvertiseAddrs.Serf} {
		if a == "" {
			continue
		}
		host, _, err := splitHostPortDefault(a, 1)
		if err != nil {
			add("advertise.%s: %v", name, err)
		} else if name == "serf" && *c.Server.Enabled && net.ParseIP(host) == nil {
			// memberlist only takes an IP, and would fail the start late.
			add("advertise.serf: %q must be an IP address, optionally with a port", a)
		}
	}
	c.validatePortClashes(add)
	c.validateIntegrations(add)
	s := c.Server
	if *s.BootstrapExpect < 0 {
		add("server.bootstrap_expect: %d must be 0 or more", *s.BootstrapExpect)
	}
	if *s.BootstrapExpect > 0 && !*s.Enabled {
		add("server.bootstrap_expect: only valid for a server (-server)")
	}
	if !*s.Enabled && (len(s.RetryJoin) > 0 || len(s.StartJoin) > 0) {
		add("server.retry_join/start_join: only servers join the gossip pool; a client finds servers with -servers (their RPC addresses)")
	}
	if c.DevMode && *s.BootstrapExpect != 1 {
		add("server.bootstrap_expect: -dev runs a single server; it must be 1")
	}
	// min is the smallest value that works: a zero retry_interval or
	// heartbeat TTL would spin, raft refuses a snapshot interval under 5ms.
	for _, d := range []struct {
		name string
		v    *string
		min  time.Duration
	}{
		{"retry_interval", s.RetryInterval, time.Nanosecond},
		{"heartbeat_grace", s.HeartbeatGrace, 0},
		{"min_heartbeat_ttl", s.MinHeartbeatTTL, time.Nanosecond},
		{"failover_heartbeat_ttl", s.FailoverHeartbeatTTL, time.Nanosecond},
		{"dead_server_cleanup_threshold", s.DeadServerCleanupThreshold, 0},
		{"raft_snapshot_interval", s.RaftSnapshotInterval, 5 * time.Millisecond},
		{"node_gc_threshold", s.NodeGCThreshold, 0},
	} {
		v, err := time.ParseDuration(*d.v)
		switch {
		case err != nil:
			add("server.%s: %q is not a duration such as \"30s\"", d.name, *d.v)
		case v < d.min && d.min == 0:
			add("server.%s: %q must not be negative", d.name, *d.v)
		case v < d.min && d.min == time.Nanosecond:
			add("server.%s: %q must be positive", d.name, *d.v)
		case v < d.min:
			add("server.%s: %q must be at least %s", d.name, *d.v, d.min)
		}
	}
	if *s.RaftMultiplier < 1 || *s.RaftMultiplier > 10 {
		add("server.raft_multiplier: %d must be between 1 and 10", *s.RaftMultiplier)
	}
	if *s.MaxHeartbeatsPerSecond <= 0 {
		add("server.max_heartbeats_per_second: must be positive")
	}
	if *s.RaftSnapshotThreshold < 1 {
		add("server.raft_snapshot_threshold: must be positive")
	}
	if *s.MaxContentsBytes < 1 || *s.MaxContentsBytes > 64<<20 {
		add("server.max_contents_bytes: %d must be between 1 and %d", *s.MaxContentsBytes, 64<<20)
	}
	if *s.RevisionRetention < 0 {
		add("server.revision_retention: %d must be 0 (keep all) or more", *s.RevisionRetention)
	}
	if b := *s.RaftLogStore.Backend; b != "" && b != nomadlike.LogStoreBoltDB && b != nomadlike.LogStoreWAL {
		add("server.raft_logstore.backend: %q must be %q or %q", b, nomadlike.LogStoreWAL, nomadlike.LogStoreBoltDB)
	}
	if err := nomadlike.ValidateSchedulerWorkerPoolArgs(structs.SchedulerWorkerPoolArgs{
		NumSchedulers: *s.NumSchedulers, EnabledSchedulers: s.EnabledSchedulers,
	}); err != nil {
		add("server.num_schedulers/enabled_schedulers: %v", err)
	}
	if u := *c.Client.ReloadURL; u != "" {
		if parsed, err := url.Parse(u); err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
			add("client.reload_url: %q must be an http(s) URL such as http://127.0.0.1:12345/-/reload", u)
		}
	}
	if *s.RaftTrailingLogs < 0 {
		add("server.raft_trailing_logs: %d must be 0 or more", *s.RaftTrailingLogs)
	}
	if *s.RetryMaxAttempts < 0 {
		add("server.retry_max: must be 0 (forever) or more")
	}
	for name, addrs := range map[string][]string{"retry_join": s.RetryJoin, "start_join": s.StartJoin} {
		for _, a := range addrs {
			if _, _, err := splitHostPortDefault(a, 1); err != nil {
				add("server.%s: %v (want a server's gossip address, host[:port])", name, err)
			}
		}
	}
	cl := c.Client
	for _, a := range cl.Servers {
		host, port, err := net.SplitHostPort(a)
		if p, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || p < 1 || p > 65535 {
			add("client.servers: %q must be host:port (the servers' RPC port)", a)
		}
	}
	if *cl.Enabled && !*s.Enabled && len(cl.Servers) == 0 {
		add("client.servers: a client-only agent needs at least one server address (-servers=host:4647)")
	}
	for k := range cl.Meta {
		if k == "" || strings.ContainsAny(k, " =") {
			add("client.meta: key %q must be non-empty without spaces or '='", k)
		}
	}
	if *s.Encrypt != "" {
		if _, err := decodeGossipKey(*s.Encrypt); err != nil {
			add("server.encrypt: %v", err)
		}
	}
	if d, err := time.ParseDuration(*c.LogRotateDuration); err != nil || d < 0 {
		add("log_rotate_duration: %q must be a duration such as 24h", *c.LogRotateDuration)
	}
	if *c.LogRotateBytes < 0 {
		add("log_rotate_bytes: %d must be 0 (no size limit) or more", *c.LogRotateBytes)
	}
	if *c.LogRotateMaxFiles < 0 {
		add("log_rotate_max_files: %d must be 0 (keep all) or more", *c.LogRotateMaxFiles)
	}
	c.Client.Metrics.validate(add)
	c.Client.Logs.validate(add)
	c.Client.HostMetrics.validate(add)
	c.Server.HostMetrics.validate(add)
	c.validateTLS(add)
	c.Limits.validate(add)
	c.Telemetry.validate(add)
	c.Assistant.validate(add)
	seen := map[string]bool{}
	for _, rl := range c.RateLimits {
		if _, ok := familyNames[rl.Family]; !ok {
			add("rate_limit %q: unknown API family (want one of %s)", rl.Family, strings.Join(slices.Sorted(maps.Keys(familyNames)), ", "))
		}
		if seen[rl.Family] {
			add("rate_limit %q: declared twice", rl.Family)
		}
		seen[rl.Family] = true
		if rl.RequestsPerSecond == nil || *rl.RequestsPerSecond <= 0 {
			add("rate_limit %q.requests_per_second: must be set and positive", rl.Family)
		}
		if rl.Burst != nil && *rl.Burst < 1 {
			add("rate_limit %q.burst: must be 1 or more", rl.Family)
		}
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return errors.New(strings.Join(errs, "\n"))
	}
	return nil
}

// validatePortClashes reports two listeners of this agent on one port of
// one address (a client-only agent listens on HTTP only). Caught here,
// the clash fails the start before anything is started.
func (c *Config) validatePortClashes(add func(string, ...any)) {
	type listener struct {
		name string
		addr *string
		port int
	}
	ls := []listener{{"http", c.Addresses.HTTP, *c.Ports.HTTP}}
	if *c.Server.Enabled {
		ls = append(ls, listener{"rpc", c.Addresses.RPC, *c.Ports.RPC}, listener{"serf", c.Addresses.Serf, *c.Ports.Serf})
	}
	ip := func(l listener) net.IP {
		if l.addr != nil && *l.addr != "" {
			return net.ParseIP(*l.addr)
		}
		return net.ParseIP(*c.BindAddr)
	}
	for i, a := range ls {
		for _, b := range ls[i+1:] {
			ipA, ipB := ip(a), ip(b)
			if a.port != b.port || a.port < 1 || a.port > 65535 || ipA == nil || ipB == nil {
				continue
			}
			if ipA.Equal(ipB) || ipA.IsUnspecified() || ipB.IsUnspecified() {
				add("ports.%s: %d is also ports.%s on the same address", b.name, b.port, a.name)
			}
		}
	}
}

// splitHostPortDefault splits "host[:port]"; a missing port is def. A
// bare IPv6 address ("::1", "[::1]") has no port.
func splitHostPortDefault(addr string, def int) (string, int, error) {
	if addr == "" {
		return "", 0, errors.New("empty address")
	}
	bare := strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
	if net.ParseIP(bare) != nil && (bare == addr || "["+bare+"]" == addr) {
		return bare, def, nil
	}
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		if strings.Contains(err.Error(), "missing port") && !strings.ContainsAny(addr, "[]") {
			return addr, def, nil
		}
		return "", 0, fmt.Errorf("%q: %v", addr, err)
	}
	if host == "" {
		return "", 0, fmt.Errorf("%q: missing host", addr)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("%q: invalid port", addr)
	}
	return host, port, nil
}

// decodeGossipKey decodes a base64 AES key of 16, 24 or 32 bytes.
func decodeGossipKey(s string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("not base64: %v", err)
	}
	switch len(key) {
	case 16, 24, 32:
		return key, nil
	}
	return nil, fmt.Errorf("key is %d bytes; want 16, 24 or 32 (use `nomadlike operator gossip keygen`)", len(key))
}
