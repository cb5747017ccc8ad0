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

// TestConfigHTTP_LogsKind: the logs_instance_config API under
// /agent/api/v1/logs/ has the metrics one's shape and envelope, and the
// two kinds never answer for each other.
func TestConfigHTTP_LogsKind(t *testing.T) {
	a := TestAgent(t, func(c *Config) { c.Client.Enabled = ptr(false) })
	WaitForAgentLeader(t, a)
	u := a.URL() + "/agent/api/v1"
	body := "clients:\n  - url: http://loki:3100/loki/api/v1/push\n    basic_auth: {username: u, password: s3cret}\n" +
		"scrape_configs:\n  - job_name: varlogs\n    static_configs:\n      - labels: {__path__: /var/log/*.log}\n"
	for _, tc := range []struct {
		method, path, body string
		code               int
		want               string
	}{
		{"PUT", "/logs/config/l", body, 201, `{"status":"success"}`},
		{"PUT", "/logs/config/l", body, 200, `{"status":"success"}`},
		{"GET", "/logs/configs", "", 200, `{"status":"success","data":{"configs":["l"]}}`},
		{"GET", "/configs", "", 200, `{"status":"success","data":{"configs":[]}}`},
		{"GET", "/logs/configs/l", "", 200, `password: <secret>`},
		{"GET", "/configs/l", "", 404, `{"status":"error","data":{"error":"configuration l does not exist"}}`},
		{"PUT", "/config/l", "scrape_configs: []\n", 409, `configuration l is a logs_instance_config; delete it before storing a metrics_instance_config under its name`},
		{"PUT", "/logs/config/bad", "clients: []\n", 400, `clients: at least one Loki push URL is required`},
		{"GET", "/logs/config/l/revisions", "", 200, `"operation":"INSERT"`},
		{"GET", "/logs/config/l/status", "", 200, `"name":"l"`},
		{"DELETE", "/logs/config/l", "", 200, `{"status":"success"}`},
		{"GET", "/logs/configs/l", "", 404, `configuration l does not exist`},
	} {
		code, _, got := send(t, tc.method, u+tc.path, "", tc.body)
		if code != tc.code || !strings.Contains(string(got), tc.want) || strings.Contains(string(got), "s3cret") {
			t.Errorf("%s %s: %d %s, want %d with %s", tc.method, tc.path, code, got, tc.code, tc.want)
		}
	}
}
