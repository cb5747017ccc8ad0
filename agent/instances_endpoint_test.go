package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	"github.com/nomadlike/nomadlike/agent/metrics/metricstest"
	"github.com/nomadlike/nomadlike/nomadlike/testutil"
)

func getBody(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestInstances_LocalAndAssigned runs a local instance from the agent
// config and an assigned one from the config API on one -server -client
// agent, and checks Grafana Agent's endpoints and the status reports.
func TestInstances_LocalAndAssigned(t *testing.T) {
	sink := metricstest.NewSink(t)
	exp := metricstest.Exporter(t, "local_metric 1\n")
	a := TestAgent(t, func(c *Config) {
		c.Client.Metrics.StatusInterval = ptr("100ms")
		c.Telemetry.CollectionInterval = ptr("100ms")
		c.Client.Metrics.Instances = []*MetricsInstance{{Name: "local",
			Config: ptr(metricstest.InstanceYAML("local_job", exp.URL, sink.URL()))}}
	})
	WaitForAgentLeader(t, a)

	code, body := getBody(t, a.URL()+"/-/ready")
	if code != 200 || body != "Agent is Ready.\n" {
		t.Fatalf("ready: %d %q", code, body)
	}
	if code, body := getBody(t, a.URL()+"/-/healthy"); code != 200 || body != "Agent is Healthy.\n" {
		t.Fatalf("healthy: %d %q", code, body)
	}
	// An assigned config, through the config API.
	req, _ := http.NewRequest(http.MethodPut, a.URL()+"/agent/api/v1/config/assigned",
		strings.NewReader(metricstest.InstanceYAML("assigned_job", exp.URL, sink.URL())))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("put: %d", resp.StatusCode)
	}
	testutil.WaitForResult(t, 30*time.Second, func() error {
		_, body := getBody(t, a.URL()+"/agent/api/v1/metrics/instances")
		if body != `{"status":"success","data":["assigned","local"]}`+"\n" && body != `{"status":"success","data":["assigned","local"]}` {
			return fmt.Errorf("instances: %s", body)
		}
		return nil
	})
	for _, alias := range []string{"/agent/api/v1/instances", "/agent/api/v1/metrics/instances"} {
		if code, _ := getBody(t, a.URL()+alias); code != 200 {
			t.Fatalf("%s: %d", alias, code)
		}
	}
	testutil.WaitForResult(t, 30*time.Second, func() error {
		_, body := getBody(t, a.URL()+"/agent/api/v1/targets")
		var env struct {
			Status string
			Data   []map[string]any
		}
		if err := json.Unmarshal([]byte(body), &env); err != nil {
			return err
		}
		if env.Status != "success" || len(env.Data) != 2 {
			return fmt.Errorf("targets: %s", body)
		}
		for _, tg := range env.Data {
			for _, k := range []string{"instance", "target_group", "endpoint", "state", "labels", "discovered_labels",
				"last_scrape", "scrape_duration_ms", "scrape_error"} {
				if _, ok := tg[k]; !ok {
					return fmt.Errorf("target lacks %s: %v", k, tg)
				}
			}
			if tg["state"] != "up" {
				return fmt.Errorf("target not up yet: %v", tg)
			}
		}
		if env.Data[0]["instance"] != "assigned" || env.Data[1]["instance"] != "local" {
			return fmt.Errorf("targets not sorted by instance: %s", body)
		}
		return nil
	})
	// The servers know what the node runs.
	nodeID := a.Client().NodeID()
	testutil.WaitForResult(t, 30*time.Second, func() error {
		_, body := getBody(t, a.URL()+"/agent/api/v1/config/assigned/status")
		if !strings.Contains(body, `"nodeId":"`+nodeID+`"`) || !strings.Contains(body, `"state":"running"`) ||
			!strings.Contains(body, `"targetsUp":1`) {
			return fmt.Errorf("config status: %s", body)
		}
		_, body = getBody(t, a.URL()+"/v1/node/"+nodeID+"/assignment")
		if !strings.Contains(body, `"Name":"local","Source":"local","State":"running"`) {
			return fmt.Errorf("assignment: %s", body)
		}
		return nil
	})
	if code, body := getBody(t, a.URL()+"/agent/api/v1/config/nope/status"); code != 404 || !strings.Contains(body, `"status":"error"`) {
		t.Fatalf("status of a missing config: %d %s", code, body)
	}

	// The instances' figures are in the JSON telemetry too.
	testutil.WaitForResult(t, 30*time.Second, func() error {
		_, body := getBody(t, a.URL()+"/v1/metrics")
		for _, want := range []string{`"nomadlike.client.metrics.samples_appended"`, `"nomadlike.client.metrics.remote_sent"`,
			`"nomadlike.client.metrics.wal_bytes"`, `"instance":"local"`} {
			if !strings.Contains(body, want) {
				return fmt.Errorf("/v1/metrics lacks %s", want)
			}
		}
		return nil
	})

	// The remote_write receiver: unknown instance, garbage, a real write.
	post := func(instance string, body []byte) (int, string) {
		resp, err := http.Post(a.URL()+"/agent/api/v1/metrics/instance/"+instance+"/write", "application/x-protobuf", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post("nope", nil); code != 400 || !strings.Contains(body, "instance nope does not exist") {
		t.Fatalf("unknown instance: %d %q", code, body)
	}
	if code, _ := post("local", []byte("garbage")); code != 400 {
		t.Fatalf("garbage: %d", code)
	}
	testutil.WaitForResult(t, 30*time.Second, func() error {
		wr := prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
			Labels:  []prompb.Label{{Name: "__name__", Value: "pushed"}, {Name: "via", Value: "receiver"}},
			Samples: []prompb.Sample{{Timestamp: time.Now().UnixMilli(), Value: 1}},
		}}}
		raw, _ := wr.Marshal()
		if code, body := post("local", snappy.Encode(nil, raw)); code != http.StatusNoContent || body != "" {
			t.Fatalf("write: %d %q", code, body)
		}
		if len(sink.Timestamps(`__name__="pushed"`, `via="receiver"`)) == 0 {
			return fmt.Errorf("pushed sample not at the sink yet")
		}
		return nil
	})
}

// TestInstances_AgentIntegration scrapes the agent's own /v1/metrics from
// a local instance (Grafana Agent's "agent" integration).
func TestInstances_AgentIntegration(t *testing.T) {
	sink := metricstest.NewSink(t)
	a := TestAgent(t, func(c *Config) {
		// A timeout that a loaded -race run of the whole suite meets:
		// the agent's /v1/metrics is hundreds of families.
		c.Client.Metrics.ScrapeInterval = ptr("1s")
		c.Client.Metrics.ScrapeTimeout = ptr("900ms")
		c.Client.Metrics.Instances = []*MetricsInstance{{Name: "self", AgentIntegration: ptr(true),
			Config: ptr("remote_write:\n  - url: " + sink.URL() + "\n    queue_config: {batch_send_deadline: 100ms}\n")}}
	})
	WaitForAgentLeader(t, a)
	testutil.WaitForResult(t, 30*time.Second, func() error {
		if len(sink.Timestamps(`__name__="go_goroutines"`, `job="integrations/agent"`)) == 0 {
			return fmt.Errorf("no self-scraped go_goroutines at the sink")
		}
		if len(sink.Timestamps(`__name__="up"`, `job="integrations/agent"`)) == 0 {
			return fmt.Errorf("no up series")
		}
		return nil
	})
}
