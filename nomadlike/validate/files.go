package validate

import (
	"fmt"
	"sort"
	"strings"
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
func (c *InstanceConfig) checkNoFiles() error {
	for i, rw := range c.RemoteWrite {
		if err := rw.checkNoFiles(); err != nil {
			return fmt.Errorf("failed to validate remote_write at index %d: %w", i, err)
		}
	}
	for i, sc := range c.ScrapeConfigs {
		if err := sc.checkNoFiles(); err != nil {
			return fmt.Errorf("failed to validate scrape_config at index %d: %w", i, err)
		}
		for j, e := range sc.ServiceDiscoveryConfigs.entries() {
			if err := e.checkNoFiles(); err != nil {
				return fmt.Errorf("failed to validate service discovery at index %d within scrape_config at index %d: %w", j, i, err)
			}
		}
	}
	return nil
}

// checkNoFiles checks a remote_write's HTTP client and auth blocks.
func (rw *RemoteWriteConfig) checkNoFiles() error {
	if err := rw.HTTPClientConfig.checkNoFiles(); err != nil {
		return err
	}
	for _, block := range []SDConfig{rw.SigV4Config, rw.AzureADConfig, rw.GoogleIAMConfig} {
		if field := findFileField(block, ""); field != "" {
			return fileFieldError(field)
		}
	}
	return nil
}

// checkNoFiles checks a scrape config's HTTP client and its failure log,
// which the agent would write to.
func (sc *ScrapeConfig) checkNoFiles() error {
	if err := sc.HTTPClientConfig.checkNoFiles(); err != nil {
		return err
	}
	if sc.ScrapeFailureLogFile != "" {
		return fileFieldError("scrape_failure_log_file")
	}
	return nil
}

// checkNoFiles checks the agent's six fields first, in the agent's order
// and with its names, then the file fields newer Prometheus added.
func (h *HTTPClientConfig) checkNoFiles() error {
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
	for _, name := range sortedKeys(h.HTTPHeaders) {
		if len(h.HTTPHeaders[name].Files) > 0 {
			return fileFieldError(fmt.Sprintf("http_headers %q files", name))
		}
	}
	return nil
}

// checkNoFiles refuses SD types not known to be safe and, for the others,
// any field that reads a file. file_sd_configs' own files are allowed, as
// in the agent: they hold targets, not credentials.
func (e sdEntry) checkNoFiles() error {
	if !safeSD[e.name] {
		return fmt.Errorf("unknown service discovery %s; rejecting config for safety. set dangerous_allow_reading_files to ignore", e.name)
	}
	body, ok := e.body.(SDConfig)
	if !ok {
		return nil
	}
	if field := findFileField(body, ""); field != "" {
		return fileFieldError(field)
	}
	return nil
}

// findFileField walks a generic YAML value for the first (in sorted key
// order, depth first) non-empty key ending in "_file", or a non-empty
// "files" list inside http_headers, and returns its name.
func findFileField(v interface{}, parent string) string {
	switch t := v.(type) {
	case SDConfig:
		return findFileField(map[string]interface{}(t), parent)
	case map[string]interface{}:
		return findFileFieldInMap(stringKeyed(t), parent)
	case map[interface{}]interface{}:
		return findFileFieldInMap(t, parent)
	case []interface{}:
		for _, item := range t {
			if f := findFileField(item, parent); f != "" {
				return f
			}
		}
	}
	return ""
}

// findFileFieldInMap is findFileField for one mapping.
func findFileFieldInMap(m map[interface{}]interface{}, parent string) string {
	keys := make([]string, 0, len(m))
	byName := make(map[string]interface{}, len(m))
	for k, v := range m {
		name := fmt.Sprint(k)
		keys = append(keys, name)
		byName[name] = v
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := byName[k]
		if strings.HasSuffix(k, "_file") && !isEmptyValue(v) {
			return k
		}
		if k == "files" && parent == "http_header" && !isEmptyValue(v) {
			return "http_headers files"
		}
		next := k
		if parent == "http_headers" {
			next = "http_header" // v is one header's values/secrets/files
		}
		if f := findFileField(v, next); f != "" {
			return f
		}
	}
	return ""
}

// stringKeyed converts a string-keyed map for findFileFieldInMap.
func stringKeyed(m map[string]interface{}) map[interface{}]interface{} {
	out := make(map[interface{}]interface{}, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
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
	case map[interface{}]interface{}:
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
