package agent

import (
	"net/http"
	"reflect"
	"sort"
	"strings"

	yaml "go.yaml.in/yaml/v2"

	"github.com/nomadlike/nomadlike/nomadlike/validate"
)

// configDisabled is Grafana Agent's answer when the read API is off.
const configDisabled = "404 - config endpoint is disabled"

// scrubbedYAML renders c as YAML under its HCL names (blocks as maps,
// repeated blocks as lists, a block's label as a key of its own), with
// every secret replaced by "<secret>": fields tagged secret:"true", the
// keys Prometheus treats as secrets (token, password, bearer_token, ...),
// passwords inside URLs, and those inside a metrics instance's inline
// config. It is what /-/config and the support bundle show.
func (c *Config) scrubbedYAML() ([]byte, error) {
	b, err := yaml.Marshal(yamlValue(reflect.ValueOf(c).Elem(), ""))
	if err != nil {
		return nil, err
	}
	return validate.ScrubYAML(b)
}

// yamlValue converts v (a config struct, pointer, list, map or scalar)
// for yaml.Marshal; secret is the field's secret tag.
func yamlValue(v reflect.Value, secret string) any {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return yamlValue(v.Elem(), secret)
	case reflect.Struct:
		var out yaml.MapSlice
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("hcl"), ",")
			if name == "" || !f.IsExported() {
				continue
			}
			fv := yamlValue(v.Field(i), f.Tag.Get("secret"))
			if fv == nil {
				continue
			}
			out = append(out, yaml.MapItem{Key: name, Value: fv})
		}
		return out
	case reflect.Slice:
		if v.IsNil() {
			return nil
		}
		out := make([]any, 0, v.Len())
		for i := range v.Len() {
			out = append(out, yamlValue(v.Index(i), secret))
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return nil
		}
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		var out yaml.MapSlice
		for _, k := range keys {
			out = append(out, yaml.MapItem{Key: k.String(), Value: yamlValue(v.MapIndex(k), secret)})
		}
		return out
	case reflect.String:
		s := v.String()
		switch {
		case s == "":
		case secret == "true":
			return validate.SecretPlaceholder
		case secret == "yaml":
			// An instance's inline config: its own secrets hidden as in
			// the config API; one that does not parse is hidden whole.
			b, err := validate.ScrubYAML([]byte(s))
			if err != nil {
				return validate.SecretPlaceholder
			}
			return string(b)
		}
		return s
	}
	if secret == "true" && !v.IsZero() {
		return validate.SecretPlaceholder
	}
	return v.Interface()
}

// ConfigReadRequest is Grafana Agent's /-/config (any method): the
// running configuration, defaults applied and secrets scrubbed, as YAML;
// a plain 404 unless enable_config_read_api (-config.enable-read-api).
func (s *HTTPServer) ConfigReadRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	c := s.agent.runningConfig()
	if !*c.EnableConfigReadAPI {
		http.Error(resp, configDisabled, http.StatusNotFound)
		return nil, nil
	}
	b, err := c.scrubbedYAML()
	if err != nil {
		return nil, err
	}
	resp.Header().Set("Content-Type", "text/plain; charset=utf-8")
	resp.Write(b)
	return nil, nil
}
