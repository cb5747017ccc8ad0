package agent

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/nomadlike/nomadlike/agent/hostmetrics"
	"github.com/nomadlike/nomadlike/agent/integrations"
	"github.com/nomadlike/nomadlike/agent/logs"
	"github.com/nomadlike/nomadlike/agent/metrics"
)

// ConfigLoader reads the agent's configuration again as it was read at
// start: the same defaults, files or directories and flags, merged and
// validated.
type ConfigLoader func() (*Config, error)

// The settings a reload applies to the running agent, by their HCL path.
// Every other setting that differs is reported as needing a restart
// (reload.go's DESIGN entry in agent/DESIGN.md says why these).
const (
	reloadLogLevel      = "log_level"
	reloadRateLimit     = "rate_limit"
	reloadMeta          = "client.meta"
	reloadLocalMetrics  = "client.metrics.instance"
	reloadLocalLogs     = "client.logs.instance"
	reloadIntegrations  = "integrations"
	reloadHostChecks    = "client.host_metrics.check"
	reloadConfigRead    = "enable_config_read_api"
	reloadSupport       = "disable_support_bundle"
	headerRestartNeeded = "X-Nomadlike-Restart-Required"
)

var reloadable = map[string]bool{reloadLogLevel: true, reloadRateLimit: true, reloadMeta: true,
	reloadLocalMetrics: true, reloadLocalLogs: true, reloadHostChecks: true, reloadConfigRead: true, reloadSupport: true,
	// Read again on every reload while TLS is on, changed or not.
	"tls.ca_file": true, "tls.cert_file": true, "tls.key_file": true,
	// For new connections and requests; open ones keep theirs.
	"limits.http_max_conns_per_client": true, "limits.rpc_max_conns_per_client": true,
	"limits.https_handshake_timeout": true, "limits.rpc_handshake_timeout": true,
	"limits.http_body_read_timeout": true}

// ReloadResult is what a reload did.
type ReloadResult struct {
	// Applied are the reloadable settings that changed, now live.
	Applied []string
	// RestartRequired are the settings that changed in the files but
	// keep their running value until the agent restarts (ports, data
	// dir, roles, ...).
	RestartRequired []string
}

// ReloadError is a reload refused before anything changed: the files do
// not parse or validate, or this agent has no files to read again.
type ReloadError struct{ Err error }

func (e *ReloadError) Error() string { return e.Err.Error() }
func (e *ReloadError) Unwrap() error { return e.Err }

// SetConfigLoader sets how Reload reads the configuration; an agent
// without one (one built in memory by a test or a library user) refuses
// to reload.
func (a *Agent) SetConfigLoader(l ConfigLoader) {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	a.loader = l
}

// runningConfig is the configuration the agent runs with now: the one it
// started with, with what reloads applied.
func (a *Agent) runningConfig() *Config { return a.running.Load() }

// Reload reads the configuration again and applies what changed of the
// reloadable settings, keeping the node's registration and the server's
// membership: nothing restarts that did not change. A configuration that
// does not load or validate is a *ReloadError and changes nothing.
// Metrics instances that fail to start are logged and in their status (as
// at start they would fail it, here the rest stays applied).
func (a *Agent) Reload() (*ReloadResult, error) {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	if a.loader == nil {
		return nil, &ReloadError{fmt.Errorf("this agent was not started from configuration files: nothing to reload")}
	}
	next, err := a.loader()
	if err != nil {
		return nil, &ReloadError{err}
	}
	cur := a.runningConfig()
	if next.DevMode && *next.DataDir == "" {
		// -dev's temporary data dir is chosen at start.
		next.DataDir = cur.DataDir
	}
	res := &ReloadResult{}
	for _, path := range configDiff(cur, next) {
		if reloadable[path] || (a.client != nil && (path == reloadIntegrations || strings.HasPrefix(path, reloadIntegrations+"."))) {
			res.Applied = append(res.Applied, path)
		} else {
			res.RestartRequired = append(res.RestartRequired, path)
		}
	}

	// Everything that can fail is prepared before anything is applied.
	// Integrations are built again only when their block changed (a new
	// node_exporter starts its collectors afresh).
	igs := a.runningIntegrations()
	integrationsChanged := a.client != nil && !reflect.DeepEqual(cur.Integrations, next.Integrations)
	if integrationsChanged {
		if igs, err = a.buildIntegrations(next); err != nil {
			return nil, &ReloadError{fmt.Errorf("integrations: %w", err)}
		}
	}
	var local []metrics.Spec
	if a.client != nil && a.metrics != nil {
		if local, err = next.Client.Metrics.localSpecs(a.selfScrape(*next.TLS.CAFile, igs)); err != nil {
			return nil, &ReloadError{err}
		}
	}
	var localLogs []logs.Spec
	if a.logs != nil {
		if localLogs, err = next.Client.Logs.localSpecs(); err != nil {
			return nil, &ReloadError{err}
		}
		// A config_file is only read now: check it before applying
		// anything.
		for _, s := range localLogs {
			if _, err := logs.ParseInstanceConfig(s.YAML, s.Name); err != nil {
				return nil, &ReloadError{err}
			}
		}
	}
	var checks []hostmetrics.Check
	hostChecks := a.client != nil && enabled(cur.Client.HostMetrics) && enabled(next.Client.HostMetrics)
	if hostChecks {
		checks = next.Client.HostMetrics.collectorConfig("", nil).Checks
	}

	// First what can still fail: the files validated a moment ago may
	// have changed since. Nothing else is applied then.
	if err := a.reloadTLS(next); err != nil {
		return nil, &ReloadError{fmt.Errorf("tls: %w", err)}
	}
	if a.tls != nil {
		a.logger.Info("reload: TLS certificate and CA read again", "cert_file", *next.TLS.CertFile)
	}

	changed := func(path string) bool { return slices.Contains(res.Applied, path) }
	if changed(reloadLogLevel) {
		a.logger.SetLevel(hclog.LevelFromString(*next.LogLevel))
	}
	if changed(reloadRateLimit) && a.http != nil {
		a.http.setRateLimits(next.RateLimits)
	}
	if slices.ContainsFunc(res.Applied, func(p string) bool { return strings.HasPrefix(p, "limits.") }) {
		if a.http != nil {
			a.http.setLimits(next.Limits)
		}
		if a.server != nil {
			a.server.SetRPCLimits(*next.Limits.RPCMaxConnsPerClient, mustDuration(next.Limits.RPCHandshakeTimeout))
		}
	}
	if a.client != nil {
		if changed(reloadMeta) {
			a.client.SetMeta(next.Client.Meta)
		}
		if integrationsChanged {
			// Served from the next request; the servers' fleet SD
			// follows the node's new attributes.
			a.integrations.Store(&igs)
			a.client.SetAttributes(integrations.AttrPrefix, integrationAttributes(igs))
		}
		if a.metrics != nil {
			// Always: an instance's config_file may have changed under
			// the same path. Unchanged instances keep running.
			if err := a.client.SetLocalMetrics(local); err != nil {
				a.logger.Error("reload: metrics instances", "error", err)
			}
		}
		if a.logs != nil {
			// Always, as for metrics: unchanged instances keep running.
			if err := a.client.SetLocalLogs(localLogs); err != nil {
				a.logger.Error("reload: logs instances", "error", err)
			}
		}
		if hostChecks && changed(reloadHostChecks) {
			if err := a.client.SetHostMetricsChecks(checks); err != nil {
				a.logger.Error("reload: host metrics checks", "error", err)
			}
		}
	}
	a.running.Store(withReloaded(cur, next))
	if len(res.RestartRequired) > 0 {
		a.logger.Warn("reload: these settings changed but need a restart to take effect", "settings", strings.Join(res.RestartRequired, ", "))
	}
	a.logger.Info("configuration reloaded", "applied", strings.Join(res.Applied, ", "))
	return res, nil
}

func enabled(h *HostMetricsConfig) bool { return h != nil && h.Enabled != nil && *h.Enabled }

// withReloaded is cur with next's reloadable settings. Neither is
// changed: the structs on the way to a replaced field are copied.
func withReloaded(cur, next *Config) *Config {
	out := *cur
	out.LogLevel = next.LogLevel
	out.RateLimits = next.RateLimits
	out.EnableConfigReadAPI = next.EnableConfigReadAPI
	out.DisableSupportBundle = next.DisableSupportBundle
	if cur.Client != nil && *cur.Client.Enabled {
		out.Integrations = next.Integrations
	}
	if cur.Limits != nil && next.Limits != nil {
		l := *cur.Limits
		l.HTTPMaxConnsPerClient, l.RPCMaxConnsPerClient = next.Limits.HTTPMaxConnsPerClient, next.Limits.RPCMaxConnsPerClient
		l.HTTPSHandshakeTimeout, l.RPCHandshakeTimeout = next.Limits.HTTPSHandshakeTimeout, next.Limits.RPCHandshakeTimeout
		l.HTTPBodyReadTimeout = next.Limits.HTTPBodyReadTimeout
		out.Limits = &l
	}
	if cur.TLS != nil && next.TLS != nil {
		t := *cur.TLS
		t.CAFile, t.CertFile, t.KeyFile = next.TLS.CAFile, next.TLS.CertFile, next.TLS.KeyFile
		out.TLS = &t
	}
	cl := *cur.Client
	out.Client = &cl
	cl.Meta = maps.Clone(next.Client.Meta)
	m := *cur.Client.Metrics
	cl.Metrics = &m
	m.Instances = next.Client.Metrics.Instances
	lc := *cur.Client.Logs
	cl.Logs = &lc
	lc.Instances = next.Client.Logs.Instances
	if cur.Client.HostMetrics != nil && next.Client.HostMetrics != nil {
		hm := *cur.Client.HostMetrics
		hm.Checks = next.Client.HostMetrics.Checks
		cl.HostMetrics = &hm
	}
	return &out
}

// configDiff lists, by HCL path (server.host_metrics.retention), the
// settings whose values differ between a and b. A block list (rate_limit,
// client.metrics.instance) is one setting.
func configDiff(a, b *Config) []string {
	var out []string
	diffValue(reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem(), "", &out)
	return out
}

func diffValue(a, b reflect.Value, path string, out *[]string) {
	switch a.Kind() {
	case reflect.Pointer:
		switch {
		case a.IsNil() && b.IsNil():
		case a.IsNil() != b.IsNil():
			*out = append(*out, path)
		default:
			diffValue(a.Elem(), b.Elem(), path, out)
		}
	case reflect.Struct:
		t := a.Type()
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("hcl"), ",")
			if name == "" || !t.Field(i).IsExported() {
				continue // not a setting (DevMode, test hooks)
			}
			if path != "" {
				name = path + "." + name
			}
			diffValue(a.Field(i), b.Field(i), name, out)
		}
	default:
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			*out = append(*out, path)
		}
	}
}

// ReloadRequest is Grafana Agent's /-/reload (GET or POST): 200 with an
// empty body once the reload is applied, 400 with the reason as plain
// text when the files do not load or validate (nothing changed then).
// Settings that changed but need a restart are named in the
// X-Nomadlike-Restart-Required header (and the log).
func (s *HTTPServer) ReloadRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodGet && req.Method != http.MethodPost {
		return nil, errMethodNotAllowed
	}
	res, err := s.agent.Reload()
	if err != nil {
		if re := (*ReloadError)(nil); errors.As(err, &re) {
			http.Error(resp, err.Error(), http.StatusBadRequest)
			return nil, nil
		}
		return nil, err
	}
	if len(res.RestartRequired) > 0 {
		resp.Header().Set(headerRestartNeeded, strings.Join(res.RestartRequired, ", "))
	}
	resp.WriteHeader(http.StatusOK)
	return nil, nil
}
