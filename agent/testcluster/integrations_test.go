package testcluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/agent/testcluster/peers"
	"github.com/nomadlike/nomadlike/nomadlike/testutil"
)

// TestIntegrations_FleetSD: a real Prometheus whose only job is an
// http_sd_configs entry pointed at one server's fleet-wide integrations SD
// discovers and scrapes the node_exporter integration of both clients of
// a 3-server, 2-client cluster.
func TestIntegrations_FleetSD(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "integrations.hcl")
	if err := os.WriteFile(cfg, []byte(`integrations {
  node_exporter {
    collectors = ["cpu", "loadavg", "meminfo"]
  }
}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	c := New(t, Options{Servers: 3, Clients: 2, ClientArgs: []string{"-config", cfg}})
	sdURL := c.Servers[2].URL() + "/v1/integrations/sd?integrations=node_exporter"
	prom := peers.StartPrometheus(t, peers.PrometheusOptions{Config: fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: fleet
    http_sd_configs:
      - url: %q
        refresh_interval: 1s
    relabel_configs:
      - source_labels: [__meta_nomadlike_node_id]
        target_label: node_id
`, sdURL)})

	var want []string
	for _, cl := range c.Clients {
		want = append(want, cl.NodeID())
	}
	sort.Strings(want)
	testutil.WaitForResult(t, 60*time.Second, func() error {
		v, err := prom.Query(`up{job="integrations/node_exporter"} == 1`, time.Now())
		if err != nil {
			return err
		}
		var got []string
		for _, s := range v {
			got = append(got, string(s.Metric["node_id"]))
			if !strings.HasPrefix(string(s.Metric["instance"]), "127.0.0.1:") {
				return fmt.Errorf("instance label %v", s.Metric)
			}
		}
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			return fmt.Errorf("up == 1 for nodes %v, want %v", got, want)
		}
		return nil
	})
	// The CLI lists the same fleet.
	out, err := exec.Command(Binary(t), "integrations", "-address", c.Servers[0].URL()).CombinedOutput()
	if err != nil || strings.Count(string(out), "/integrations/node_exporter/metrics") != 2 ||
		!strings.Contains(string(out), c.Clients[0].Name) || !strings.Contains(string(out), c.Clients[1].Name) {
		t.Fatalf("nomadlike integrations: %v\n%s", err, out)
	}
	// And node_exporter's own series came from both.
	v, err := prom.Query(`count(node_load1{job="integrations/node_exporter"})`, time.Now())
	if err != nil || len(v) != 1 || v[0].Value != 2 {
		t.Fatalf("node_load1 from the clients: %v, %v", v, err)
	}
}
