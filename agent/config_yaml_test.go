package agent

import (
	"net/http"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v2"
)

// The secrets TestConfig_ScrubbedYAML plants; none may be printed.
var plantedSecrets = []string{"client-token-1", "c2VjcmV0LWdvc3NpcC1rZXktMzItYnl0ZXMtbG9uZyE=",
	"rw-password-1", "hdr-secret-1", "url-password-1", "instance-password-1", "check-password-1"}

const secretsHCL = `
log_level = "DEBUG"
enable_config_read_api = true
server {
  enabled = true
  bootstrap_expect = 1
  encrypt = "c2VjcmV0LWdvc3NpcC1rZXktMzItYnl0ZXMtbG9uZyE="
  host_metrics {
    remote_write {
      url = "https://user:url-password-1@store.example/api/v1/write"
      headers = { "X-Scope" = "hdr-secret-1" }
      basic_auth {
        username = "u"
        password = "rw-password-1"
      }
    }
  }
}
client {
  enabled = true
  token = "client-token-1"
  meta = { rack = "r1" }
  host_metrics {
    check "http" {
      url = "http://u:check-password-1@127.0.0.1:8080/health"
    }
  }
  metrics {
    instance "local" {
      config = <<YAML
remote_write:
  - url: http://127.0.0.1:9090/api/v1/write
    basic_auth:
      username: u
      password: instance-password-1
YAML
    }
  }
}
rate_limit "config" {
  requests_per_second = 5
}
`

// TestConfig_ScrubbedYAML: /-/config's YAML has the HCL names and the
// defaults, and not one of the planted secrets.
func TestConfig_ScrubbedYAML(t *testing.T) {
	fc, err := ParseConfig([]byte(secretsHCL), "secrets.hcl")
	if err != nil {
		t.Fatal(err)
	}
	c := validServer()
	c.Merge(fc)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	b, err := c.scrubbedYAML()
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	for _, s := range plantedSecrets {
		if strings.Contains(out, s) {
			t.Errorf("secret %q printed:\n%s", s, out)
		}
	}
	var doc struct {
		LogLevel string `yaml:"log_level"`
		Ports    struct{ HTTP int }
		Server   struct {
			Encrypt     string
			HostMetrics struct {
				Retention   string
				RemoteWrite []struct {
					URL       string
					Headers   map[string]string
					BasicAuth struct{ Username, Password string } `yaml:"basic_auth"`
				} `yaml:"remote_write"`
			} `yaml:"host_metrics"`
		}
		Client struct {
			Token   string
			Meta    map[string]string
			Metrics struct {
				Instance []struct{ Name, Config string }
			}
		}
		RateLimit []struct {
			Family            string
			RequestsPerSecond float64 `yaml:"requests_per_second"`
		} `yaml:"rate_limit"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%v in\n%s", err, out)
	}
	rw := doc.Server.HostMetrics.RemoteWrite
	if doc.LogLevel != "DEBUG" || doc.Ports.HTTP != 4646 || doc.Server.HostMetrics.Retention != "15d" ||
		doc.Client.Meta["rack"] != "r1" || len(doc.RateLimit) != 1 || doc.RateLimit[0].Family != "config" ||
		doc.RateLimit[0].RequestsPerSecond != 5 || len(rw) != 1 || rw[0].BasicAuth.Username != "u" {
		t.Fatalf("rendered config:\n%s", out)
	}
	if doc.Client.Token != "<secret>" || doc.Server.Encrypt != "<secret>" || rw[0].BasicAuth.Password != "<secret>" ||
		rw[0].Headers["X-Scope"] != "<secret>" || !strings.Contains(rw[0].URL, "store.example") ||
		len(doc.Client.Metrics.Instance) != 1 || !strings.Contains(doc.Client.Metrics.Instance[0].Config, "password: <secret>") {
		t.Fatalf("secrets not hidden as expected:\n%s", out)
	}
}

// TestHTTP_ConfigRead: /-/config is a plain 404 unless enabled, then the
// running configuration (a reload's changes included) to any method.
func TestHTTP_ConfigRead(t *testing.T) {
	off := TestAgent(t, func(c *Config) { c.Client.Enabled = ptr(false) })
	code, _, body := call(t, http.MethodGet, off.URL()+"/-/config")
	if code != http.StatusNotFound || strings.TrimSpace(string(body)) != configDisabled {
		t.Fatalf("disabled: %d %q", code, body)
	}
	on := TestAgent(t, func(c *Config) {
		c.Client.Enabled = ptr(false)
		c.EnableConfigReadAPI = ptr(true)
		c.Server.Encrypt = ptr("c2VjcmV0LWdvc3NpcC1rZXktMzItYnl0ZXMtbG9uZyE=")
	})
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		code, h, body := call(t, m, on.URL()+"/-/config")
		if code != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") ||
			!strings.Contains(string(body), "enable_config_read_api: true") ||
			!strings.Contains(string(body), "encrypt: <secret>") {
			t.Fatalf("%s /-/config: %d %v\n%s", m, code, h, body)
		}
	}
}
