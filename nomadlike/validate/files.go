package validate

import (
	"fmt"
	"sort"
	"strings"

	commoncfg "github.com/prometheus/common/config"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery"
	yaml "go.yaml.in/yaml/v2"
)

// safeSD are the service discovery types the agent accepts without
// dangerous_allow_reading_files (static/metrics/cluster/validation.go),
// after checking them for file references. Any other type is refused.
var safeSD = map[string]bool{
	"static": true, "azure": true, "dns": true, "ec2": true, "file": true, "gce": true,
	"nerve": true, "serverset": true,
	"consul": true, "consulagent": true, "digitalocean": true, "dockerswarm": true,
	"eureka": true, "hetzner": true, "kubernetes": true, "marathon": true,
	"openstack": true, "scaleway": true, "triton": true, "http": true, "linode": true,
}

// fileFieldError is the agent's message for a field that reads a file.
func fileFieldError(field string) error {
	return fmt.Errorf("%s must be empty unless dangerous_allow_reading_files is set", field)
}

// checkNoFiles enforces the agent's rule that, unless allowed, no part of
// the config may make the agent read a file, with the agent's wording.
// Service discovery entries are counted in Prometheus' order (the
// registry's, sorted by YAML key), as in the agent.
func (c *InstanceConfig) checkNoFiles() error {
	for i, rw := range c.RemoteWrite {
		if err := checkRemoteWriteFiles(rw); err != nil {
			return fmt.Errorf("failed to validate remote_write at index %d: %w", i, err)
		}
	}
	for i, sc := range c.ScrapeConfigs {
		if err := checkScrapeFiles(sc); err != nil {
			return fmt.Errorf("failed to validate scrape_config at index %d: %w", i, err)
		}
		for j, sd := range sc.ServiceDiscoveryConfigs {
			if err := checkSDFiles(sd); err != nil {
				return fmt.Errorf("failed to validate service discovery at index %d within scrape_config at index %d: %w", j, i, err)
			}
		}
	}
	return nil
}

// checkRemoteWriteFiles checks a remote_write's HTTP client and auth blocks.
func checkRemoteWriteFiles(rw *promconfig.RemoteWriteConfig) error {
	if err := checkHTTPClientFiles(&rw.HTTPClientConfig); err != nil {
		return err
	}
	for _, block := range []interface{}{rw.SigV4Config, rw.AzureADConfig, rw.GoogleIAMConfig} {
		if field := findFileFieldIn(block); field != "" {
			return fileFieldError(field)
		}
	}
	return nil
}

// checkScrapeFiles checks a scrape config's HTTP client and its failure
// log, which the agent would write to.
func checkScrapeFiles(sc *promconfig.ScrapeConfig) error {
	if err := checkHTTPClientFiles(&sc.HTTPClientConfig); err != nil {
		return err
	}
	if sc.ScrapeFailureLogFile != "" {
		return fileFieldError("scrape_failure_log_file")
	}
	return nil
}

// checkHTTPClientFiles checks the agent's six fields first, in the agent's
// order and with its names, then the file fields newer Prometheus added.
func checkHTTPClientFiles(h *commoncfg.HTTPClientConfig) error {
	checks := []struct {
		name string
		set  bool
	}{
		{"bearer_token_file", h.BearerTokenFile != ""},
		{"password_file", h.BasicAuth != nil && h.BasicAuth.PasswordFile != ""},
		{"credentials_file", h.Authorization != nil && h.Authorization.CredentialsFile != ""},
		{"ca_file", h.TLSConfig.CAFile != ""},
		{"cert_file", h.TLSConfig.CertFile != ""},
		{"key_file", h.TLSConfig.KeyFile != ""},
		{"username_file", h.BasicAuth != nil && h.BasicAuth.UsernameFile != ""},
		{"client_secret_file", h.OAuth2 != nil && h.OAuth2.ClientSecretFile != ""},
		{"client_certificate_key_file", h.OAuth2 != nil && h.OAuth2.ClientCertificateKeyFile != ""},
		{"oauth2 ca_file", h.OAuth2 != nil && h.OAuth2.TLSConfig.CAFile != ""},
		{"oauth2 cert_file", h.OAuth2 != nil && h.OAuth2.TLSConfig.CertFile != ""},
		{"oauth2 key_file", h.OAuth2 != nil && h.OAuth2.TLSConfig.KeyFile != ""},
	}
	for _, c := range checks {
		if c.set {
			return fileFieldError(c.name)
		}
	}
	if h.HTTPHeaders != nil {
		for _, name := range sortedKeys(h.HTTPHeaders.Headers) {
			if len(h.HTTPHeaders.Headers[name].Files) > 0 {
				return fileFieldError(fmt.Sprintf("http_headers %q files", name))
			}
		}
	}
	return nil
}

// checkSDFiles refuses SD types not known to be safe and, for the others,
// any field that reads a file. file_sd_configs' own files are allowed, as
// in the agent: they hold targets, not credentials.
func checkSDFiles(sd discovery.Config) error {
	name := sd.Name()
	if !safeSD[name] {
		return fmt.Errorf("unknown service discovery %s; rejecting config for safety. set dangerous_allow_reading_files to ignore", name)
	}
	if _, ok := sd.(discovery.StaticConfig); ok {
		return nil
	}
	if field := findFileFieldIn(sd); field != "" {
		return fileFieldError(field)
	}
	return nil
}

// findFileFieldIn encodes a typed block and looks for file references in
// it (see findFileField). A nil block has none.
func findFileFieldIn(block interface{}) string {
	t, err := encodeValue(block)
	if err != nil || t == nil {
		return ""
	}
	return findFileField(t, "")
}

// findFileField walks a generic YAML value for the first (in sorted key
// order, depth first) non-empty key ending in "_file", or a non-empty
// "files" list inside http_headers, and returns its name.
func findFileField(v interface{}, parent string) string {
	switch t := v.(type) {
	case yaml.MapSlice:
		items := append(yaml.MapSlice(nil), t...)
		sort.SliceStable(items, func(i, j int) bool { return fmt.Sprint(items[i].Key) < fmt.Sprint(items[j].Key) })
		for _, it := range items {
			k := fmt.Sprint(it.Key)
			if strings.HasSuffix(k, "_file") && !isEmptyValue(it.Value) {
				return k
			}
			if k == "files" && parent == "http_header" && !isEmptyValue(it.Value) {
				return "http_headers files"
			}
			next := k
			if parent == "http_headers" {
				next = "http_header" // it.Value is one header's values/secrets/files
			}
			if f := findFileField(it.Value, next); f != "" {
				return f
			}
		}
	case []interface{}:
		for _, item := range t {
			if f := findFileField(item, parent); f != "" {
				return f
			}
		}
	}
	return ""
}

// isEmptyValue reports whether a YAML value is null, "", or an empty
// list or map.
func isEmptyValue(v interface{}) bool {
	switch t := v.(type) {
	case nil:
		return true
	case string:
		return t == ""
	case []interface{}:
		return len(t) == 0
	case yaml.MapSlice:
		return len(t) == 0
	}
	return false
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
