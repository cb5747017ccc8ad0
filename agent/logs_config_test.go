package agent

import (
	"strings"
	"testing"
)

// TestConfig_LogsValidate: client { logs {} } errors name the instance and
// the field, before anything starts.
func TestConfig_LogsValidate(t *testing.T) {
	fc, err := ParseConfig([]byte(`client {
  logs {
    instance "a" {
      config = "clients: [{url: 'http://127.0.0.1:3100/loki/api/v1/push'}]\nscrape_configs: [{job_name: j, static_configs: [{labels: {__path__: 'rel/*.log'}}]}]"
    }
    instance "a" {
      config_file = "/nowhere.yaml"
    }
    instance "b" {}
  }
}`), "l.hcl")
	if err != nil {
		t.Fatal(err)
	}
	c := validServer()
	c.Merge(fc)
	err = c.Validate()
	for _, want := range []string{
		`client.logs.instance "a": logs instance "a": scrape_configs[0].static_configs[0].labels.__path__: "rel/*.log" must be an absolute path`,
		`client.logs.instance "a": defined twice`,
		`client.logs.instance "b": set exactly one of config (inline YAML) or config_file`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want %q", err, want)
		}
	}
}
