package testcluster

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/nomadlike/nomadlike/agent/testcluster/peers"
	"github.com/nomadlike/nomadlike/nomadlike/testutil"
)

// metricsClientHCL makes clients report instance health every half second.
const metricsClientHCL = `
client {
  metrics {
    status_interval = "500ms"
  }
}
`

// TestCluster_MetricsInstanceEndToEnd runs an instance config through real
// processes and real peers: 3 servers and 2 clients, Debian's
// prometheus-node-exporter as the target and Debian's prometheus as the
// remote_write store. The config put through the config API is assigned
// to one client, which scrapes and writes; Prometheus answers up == 1 and
// node_exporter series with the job and instance labels. Killing that
// client moves the config to the other one and samples keep arriving.
// Prometheus stopped for a minute loses nothing: the WAL holds the samples
// and the queue sends them when it is back.
func TestCluster_MetricsInstanceEndToEnd(t *testing.T) {
	outage := 60 * time.Second
	if s := os.Getenv("METRICS_E2E_OUTAGE"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatal(err)
		}
		outage = d
	}
	ne := peers.StartNodeExporter(t)
	prom := peers.StartPrometheus(t, peers.PrometheusOptions{})
	dir := t.TempDir()
	c := New(t, Options{Servers: 3, Clients: 2, ServerArgs: serverArgs(t, ""),
		ClientArgs: []string{"-config", WriteConfig(t, dir, "metrics.hcl", metricsClientHCL)}})
	cfg := fmt.Sprintf(`scrape_configs:
  - job_name: node
    scrape_interval: 1s
    scrape_timeout: 900ms
    static_configs:
      - targets: [%q]
remote_write:
  - url: %s
    queue_config:
      batch_send_deadline: 1s
      min_backoff: 100ms
      max_backoff: 2s
`, ne.Target(), prom.RemoteWriteURL())
	if _, _, err := c.Servers[1].API().Configs().Put("node", cfg, nil); err != nil {
		t.Fatal(err)
	}

	// runner waits until one node reports the instance running with its
	// target up, and returns that node's name.
	runner := func(not string) string {
		t.Helper()
		var name string
		testutil.WaitForResult(t, 60*time.Second, func() error {
			st, _, err := c.Leader().API().Configs().Status("node", nil)
			if err != nil {
				return err
			}
			for _, n := range st.Nodes {
				if n.NodeName == not || n.NodeStatus != "ready" {
					continue
				}
				if in := n.Instance; in != nil && in.State == "running" && in.TargetsUp == 1 {
					name = n.NodeName
					return nil
				}
			}
			return fmt.Errorf("no ready node other than %q runs the config with its target up: %+v", not, st.Nodes)
		})
		return name
	}
	first := runner("")
	var victim, survivor *Agent
	for _, cl := range c.Clients {
		if cl.Name == first {
			victim = cl
		} else {
			survivor = cl
		}
	}
	if victim == nil || survivor == nil {
		t.Fatalf("config runs on %q, not one of the clients", first)
	}
	// The agent's own API lists the instance and its target.
	ins, err := victim.API().Agent().MetricsInstances()
	if err != nil || len(ins) != 1 || ins[0] != "node" {
		t.Fatalf("instances on %s: %v %v", first, ins, err)
	}
	targets, err := victim.API().Agent().MetricsTargets()
	if err != nil || len(targets) != 1 || targets[0].State != "up" || targets[0].Labels["job"] != "node" {
		t.Fatalf("targets on %s: %+v %v", first, targets, err)
	}

	query := func(expr string) model.Vector {
		t.Helper()
		v, err := prom.Query(expr, time.Now())
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return v
	}
	testutil.WaitForResult(t, 60*time.Second, func() error {
		if v := query(`up{job="node",instance="` + ne.Target() + `"} == 1`); len(v) != 1 {
			return fmt.Errorf("up == 1: %v", v)
		}
		if v := query(`node_load1{job="node",instance="` + ne.Target() + `"}`); len(v) != 1 {
			return fmt.Errorf("node_load1: %v", v)
		}
		if v := query(`count({job="node",__name__=~"node_.+"})`); len(v) != 1 || v[0].Value < 50 {
			return fmt.Errorf("node_exporter series: %v", v)
		}
		return nil
	})

	// The client running it dies: the config moves to the other client
	// once the servers mark the node down, and samples keep arriving.
	victim.Kill()
	if got := runner(first); got != survivor.Name {
		t.Fatalf("config moved to %q, want %q", got, survivor.Name)
	}
	moved := time.Now()
	testutil.WaitForResult(t, 60*time.Second, func() error {
		v := query(`timestamp(up{job="node"})`)
		if len(v) != 1 || time.Unix(int64(v[0].Value), 0).Before(moved) {
			return fmt.Errorf("no sample since the move: %v", v)
		}
		return nil
	})

	// The store goes away for the outage and comes back: no gap.
	prom.Stop()
	testutil.WaitForResult(t, 30*time.Second, func() error {
		if prom.Running() {
			return fmt.Errorf("prometheus still running")
		}
		return nil
	})
	down := time.Now()
	// The outage is a span of wall-clock time by design: polled, with a
	// deadline.
	testutil.WaitForResult(t, outage+30*time.Second, func() error {
		if time.Since(down) < outage {
			return fmt.Errorf("outage not over")
		}
		return nil
	})
	prom.Start()
	up := time.Now()
	testutil.WaitForResult(t, 120*time.Second, func() error {
		m, err := prom.QueryRange(`count_over_time(up{job="node"}[5s])`, down.Add(5*time.Second), up, 5*time.Second)
		if err != nil {
			return err
		}
		if len(m) != 1 {
			return fmt.Errorf("range: %v", m)
		}
		want := int(up.Sub(down.Add(5*time.Second))/(5*time.Second)) + 1
		if len(m[0].Values) < want {
			return fmt.Errorf("%d of %d 5s windows of the outage have samples (queue still draining?)", len(m[0].Values), want)
		}
		for _, p := range m[0].Values {
			if p.Value < 3 {
				return fmt.Errorf("window at %s has %s samples, want ~5", p.Timestamp.Time().Format(time.TimeOnly), p.Value)
			}
		}
		return nil
	})
	t.Logf("no gap over a %s outage (%s of samples sent after it)", outage, strconv.Quote(time.Since(up).Round(time.Second).String()))
}

// TestCluster_PrometheusScrapesAndForwardsThroughAnInstance has a real
// Prometheus scrape every agent's /v1/metrics?format=prometheus and
// remote_write what it scraped into a client's local instance
// (/agent/api/v1/metrics/instance/fwd/write): the cluster's own telemetry
// (raft, memberlist, HTTP, RPC, runtime) is in Prometheus, and what
// Prometheus forwards lands in the instance's WAL and goes out through
// the instance's own remote_write to a sink.
func TestCluster_PrometheusScrapesAndForwardsThroughAnInstance(t *testing.T) {
	sink := peers.StartSink(t, peers.SinkOptions{})
	dir := t.TempDir()
	hcl := fmt.Sprintf(`
client {
  metrics {
    instance "fwd" {
      config = <<EOT
remote_write:
  - url: %s
    queue_config:
      batch_send_deadline: 1s
EOT
    }
  }
}
`, sink.URL())
	c := New(t, Options{Servers: 1, Clients: 1, ServerArgs: serverArgs(t, ""),
		ClientArgs: []string{"-config", WriteConfig(t, dir, "fwd.hcl", hcl)}})
	var targets []string
	for _, a := range append(append([]*Agent{}, c.Servers...), c.Clients...) {
		targets = append(targets, fmt.Sprintf("%q", strings.TrimPrefix(a.URL(), "http://")))
	}
	client := c.Clients[0]
	prom := peers.StartPrometheus(t, peers.PrometheusOptions{Config: fmt.Sprintf(`
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: nomadlike
    metrics_path: /v1/metrics
    params: {format: [prometheus]}
    static_configs:
      - targets: [%s]
remote_write:
  - url: %s/agent/api/v1/metrics/instance/fwd/write
    queue_config:
      batch_send_deadline: 1s
`, strings.Join(targets, ", "), client.URL())})

	testutil.WaitForResult(t, 60*time.Second, func() error {
		for _, expr := range []string{
			`count(up{job="nomadlike"} == 1) == 2`,
			`count by (instance) ({job="nomadlike",__name__=~"nomadlike_raft_.+"})`,
			`{job="nomadlike",__name__=~"nomadlike_memberlist_.+"}`,
			`{job="nomadlike",__name__=~"nomadlike_http_request.*"}`,
			`{job="nomadlike",__name__=~"nomadlike_nomadlike_rpc_request.*"}`,
			`go_goroutines{job="nomadlike"}`,
			`prometheus_remote_storage_samples_total{job="nomadlike",instance_name="fwd"}`,
		} {
			v, err := prom.Query(expr, time.Now())
			if err != nil {
				return fmt.Errorf("%s: %v", expr, err)
			}
			if len(v) == 0 {
				return fmt.Errorf("%s: no result", expr)
			}
		}
		return nil
	})
	// What Prometheus forwarded went through the instance to the sink.
	testutil.WaitForResult(t, 60*time.Second, func() error {
		n := 0
		for _, s := range sink.SeriesLabels() {
			if strings.Contains(s, `job="nomadlike"`) && strings.Contains(s, "go_goroutines") {
				n++
			}
		}
		if n < 2 {
			return fmt.Errorf("%d forwarded go_goroutines series at the sink (of %d series)", n, len(sink.SeriesLabels()))
		}
		return nil
	})
	if _, err := prom.Query("up", time.Now()); err != nil {
		t.Fatal(err)
	}
}
