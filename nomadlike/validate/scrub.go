package validate

import (
	"errors"
	"regexp"
	"strings"

	yaml "go.yaml.in/yaml/v2"
)

// SecretPlaceholder replaces every secret in Scrubbed output, as
// prometheus/common's Secret type prints itself.
const SecretPlaceholder = "<secret>"

// secretKeys are the YAML keys whose scalar values are secrets anywhere in
// a config, typed blocks and free-form service discovery bodies alike.
var secretKeys = map[string]bool{
	"password":                      true,
	"bearer_token":                  true,
	"credentials":                   true,
	"client_secret":                 true,
	"client_certificate_key":        true,
	"secret_key":                    true,
	"token":                         true,
	"auth_token":                    true,
	"application_credential_secret": true,
	"api_key":                       true,
}

// opaqueKeys hold user data (label and header values, URL parameters) that
// is printed as is, even when a key looks like a secret's.
var opaqueKeys = map[string]bool{"labels": true, "params": true, "headers": true}

// Scrubbed returns the normalized YAML with every secret replaced by
// "<secret>" and passwords in URLs redacted: what reading a config back
// returns.
func (c *InstanceConfig) Scrubbed() ([]byte, error) {
	b, err := c.Encode()
	if err != nil {
		return nil, err
	}
	return ScrubYAML(b)
}

// ScrubYAML hides the secrets of any config YAML with the same walk as
// Scrubbed, without parsing it as a config: for stored contents an older
// parser accepted and this one does not (e.g. an SD type no longer built
// in), which must still be readable, never shown in clear.
func ScrubYAML(b []byte) ([]byte, error) {
	var doc yaml.MapSlice
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	scrubValue(doc, "")
	return yaml.Marshal(doc)
}

// scrubValue scrubs v in place; parent is the key v sits under.
func scrubValue(v interface{}, parent string) {
	switch t := v.(type) {
	case yaml.MapSlice:
		for i := range t {
			key, _ := t[i].Key.(string)
			t[i].Value = scrubEntry(key, t[i].Value, parent)
		}
	case []interface{}:
		for _, item := range t {
			scrubValue(item, parent)
		}
	}
}

// scrubEntry returns the scrubbed value of one key.
func scrubEntry(key string, v interface{}, parent string) interface{} {
	switch {
	case opaqueKeys[key]:
		return v
	case secretKeys[key], key == "key" && parent == "tls_config":
		return hideScalars(v)
	case key == "secrets" && parent == "http_header", key == "proxy_connect_header":
		return hideScalars(v)
	case key == "url" || key == "proxy_url":
		if s, ok := v.(string); ok {
			return redactURL(s)
		}
	}
	next := key
	if parent == "http_headers" {
		next = "http_header"
	}
	scrubValue(v, next)
	return v
}

// hideScalars replaces every non-empty scalar in v by the placeholder.
func hideScalars(v interface{}) interface{} {
	switch t := v.(type) {
	case nil:
		return nil
	case string:
		if t == "" {
			return t
		}
		return SecretPlaceholder
	case yaml.MapSlice:
		for i := range t {
			t[i].Value = hideScalars(t[i].Value)
		}
		return t
	case []interface{}:
		for i := range t {
			t[i] = hideScalars(t[i])
		}
		return t
	default:
		return SecretPlaceholder
	}
}

// yamlTypeName matches a Go type name inside yaml's error messages:
// "type config.ScrapeConfig", "type consul.plain", "type struct { ... }".
var yamlTypeName = regexp.MustCompile(`type (?:(\w+)\.(\w+)|struct \{.*\})`)

// yamlSections names the YAML section each decoded Go type stands for.
// Prometheus decodes several sections through a local type named "plain";
// where the package does not tell which, the message says "section".
var yamlSections = map[string]string{
	"validate.rawInstanceConfig": "metrics_instance_config",
	"validate.InstanceConfig":    "metrics_instance_config",
	"config.ScrapeConfig":        "scrape_config",
	"config.QueueConfig":         "queue_config",
	"config.MetadataConfig":      "metadata_config",
	"config.plain":               "section",
	"config.BasicAuth":           "basic_auth",
	"config.Authorization":       "authorization",
	"config.OAuth2":              "oauth2",
	"config.TLSConfig":           "tls_config",
	"config.Header":              "http_headers entry",
	"relabel.plain":              "relabel_config",
	"relabel.Config":             "relabel_config",
	"sigv4.SigV4Config":          "sigv4",
}

// yamlError turns yaml's multi-line type errors into one line and names
// YAML sections instead of Go types, so "field foo not found in type
// validate.rawScrapeConfig" reads "field foo not found in scrape_config".
func yamlError(err error) error {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msg = "yaml: unmarshal errors: " + strings.Join(te.Errors, "; ")
	}
	msg = yamlTypeName.ReplaceAllStringFunc(msg, func(m string) string {
		sub := yamlTypeName.FindStringSubmatch(m)
		if sub[1] == "" {
			return "static_config" // targetgroup.Group decodes through an anonymous struct
		}
		if name, ok := yamlSections[sub[1]+"."+sub[2]]; ok {
			return name
		}
		if sub[2] == "plain" || sub[2] == "SDConfig" {
			return sub[1] + "_sd_config" // discovery packages: consul.plain, dns.SDConfig, ...
		}
		return m
	})
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}
