package agent

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/agent/integrations"
	"github.com/nomadlike/nomadlike/nomadlike/testutil"
)

// TestIntegrations: node_exporter and agent integrations are served under
// /integrations/<name>/metrics, listed by this agent's and the fleet's
// http_sd endpoints with Grafana Agent's labels, filtered by the query,
// and node_exporter is autoscraped into the local instance it names.
func TestIntegrations(t *testing.T) {
	fc, err := ParseConfig([]byte(`
integrations {
  node_exporter {
    collectors       = ["cpu", "loadavg", "meminfo"]
    metrics_instance = "local"
  }
  agent {
    instance = "my-agent"
  }
}
client {
  metrics {
    scrape_interval = "1s"
    scrape_timeout  = "1s"
    instance "local" {
      config = "scrape_configs: []\n"
    }
  }
}`), "integrations.hcl")
	if err != nil {
		t.Fatal(err)
	}
	a := TestAgent(t, func(c *Config) { c.Merge(fc) })
	WaitForAgentLeader(t, a)
	addr := a.advertise.http

	code, _, body := call(t, http.MethodGet, a.URL()+"/integrations/node_exporter/metrics")
	if code != http.StatusOK || !strings.Contains(string(body), "node_load1 ") || !strings.Contains(string(body), "node_memory_MemTotal_bytes") {
		t.Fatalf("node_exporter: %d %.500s", code, body)
	}
	if code, _, body := call(t, http.MethodGet, a.URL()+"/integrations/agent/metrics"); code != http.StatusOK ||
		!strings.Contains(string(body), "# TYPE ") {
		t.Fatalf("agent: %d %.300s", code, body)
	}

	sd := func(url string) []integrations.Target {
		t.Helper()
		code, h, body := call(t, http.MethodGet, url)
		if code != http.StatusOK || h.Get("Content-Type") != "application/json" {
			t.Fatalf("GET %s: %d %v %s", url, code, h, body)
		}
		var groups []integrations.Target
		if err := json.Unmarshal(body, &groups); err != nil {
			t.Fatal(err)
		}
		return groups
	}
	groups := sd(a.URL() + "/agent/api/v1/metrics/integrations/sd")
	want := []integrations.Target{
		integrations.SDTarget("agent", "my-agent", false, addr, addr),
		integrations.SDTarget("node_exporter", addr, true, addr, addr),
	}
	if fmt.Sprint(groups) != fmt.Sprint(want) {
		t.Fatalf("sd %v, want %v", groups, want)
	}
	if g := sd(a.URL() + "/agent/api/v1/metrics/integrations/sd?integrations=node_exporter"); len(g) != 1 ||
		g[0].Labels["job"] != "integrations/node_exporter" || g[0].Labels["__meta_agent_integration_autoscrape"] != "1" {
		t.Fatalf("filtered by name: %v", g)
	}
	if g := sd(a.URL() + "/agent/api/v1/metrics/integrations/sd?instance=my-agent"); len(g) != 1 || g[0].Labels["job"] != "integrations/agent" {
		t.Fatalf("filtered by instance: %v", g)
	}
	if code, _, body := call(t, http.MethodGet, a.URL()+"/agent/api/v1/metrics/integrations/sd?integrations=bogus"); code != http.StatusBadRequest ||
		!strings.Contains(string(body), "bogus") {
		t.Fatalf("unknown integration: %d %s", code, body)
	}

	// The fleet's SD on the server: the node's integrations at its address.
	testutil.WaitForResult(t, 15*time.Second, func() error {
		g := sd(a.URL() + "/v1/integrations/sd")
		if len(g) != 2 || g[1].Labels["__meta_nomadlike_node_id"] != a.client.NodeID() || g[1].Targets[0] != addr {
			return fmt.Errorf("fleet sd %v", g)
		}
		return nil
	})

	// Autoscrape: the local instance scrapes node_exporter.
	testutil.WaitForResult(t, 30*time.Second, func() error {
		code, _, body := call(t, http.MethodGet, a.URL()+"/agent/api/v1/metrics/integrations/targets")
		var env struct {
			Data []struct {
				Instance string            `json:"instance"`
				State    string            `json:"state"`
				Endpoint string            `json:"endpoint"`
				Labels   map[string]string `json:"labels"`
			} `json:"data"`
		}
		if code != http.StatusOK || json.Unmarshal(body, &env) != nil {
			return fmt.Errorf("%d %s", code, body)
		}
		if len(env.Data) != 1 || env.Data[0].State != "up" || env.Data[0].Instance != "local" ||
			env.Data[0].Labels["job"] != "integrations/node_exporter" || !strings.HasSuffix(env.Data[0].Endpoint, "/integrations/node_exporter/metrics") {
			return fmt.Errorf("autoscrape targets %s", body)
		}
		return nil
	})
}

// TestConfig_IntegrationsValidate: autoscraping into an instance that is
// not there, or integrations on a server-only agent, fail the start.
func TestConfig_IntegrationsValidate(t *testing.T) {
	fc, err := ParseConfig([]byte(`integrations {
  node_exporter {
    metrics_instance = "missing"
  }
}`), "i.hcl")
	if err != nil {
		t.Fatal(err)
	}
	c := validServer()
	c.Merge(fc)
	err = c.Validate()
	if err == nil || !strings.Contains(err.Error(), `integrations.node_exporter.metrics_instance: "missing"`) ||
		!strings.Contains(err.Error(), "integrations run on client agents") {
		t.Fatalf("%v", err)
	}
}
