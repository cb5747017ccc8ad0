package agent

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nomadlike/nomadlike/nomadlike/testutil"
)

// metricsSummary is the JSON of /v1/metrics as a generic client sees it,
// so that the test checks the wire names rather than our own types.
type metricsSummary struct {
	Timestamp string
	Gauges    []struct {
		Name   string
		Value  float32
		Labels map[string]string
	}
	Points []struct {
		Name   string
		Points []float32
	}
	Counters []map[string]any
	Samples  []map[string]any
}

// sampleWith finds the sample or counter named name whose labels include
// want.
func sampleWith(list []map[string]any, name string, want map[string]string) map[string]any {
	for _, s := range list {
		if s["Name"] != name {
			continue
		}
		labels, _ := s["Labels"].(map[string]any)
		ok := true
		for k, v := range want {
			if labels[k] != v {
				ok = false
			}
		}
		if ok {
			return s
		}
	}
	return nil
}

func TestMetrics_JSON(t *testing.T) {
	a := TestAgent(t, nil)
	WaitForAgentLeader(t, a)
	u := a.URL()

	var m metricsSummary
	testutil.WaitForResult(t, 15*time.Second, func() error {
		// Each poll is itself an HTTP request the next poll can see.
		code, h, body := call(t, http.MethodGet, u+"/v1/metrics")
		if code != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
			return fmt.Errorf("%d %s: %s", code, h.Get("Content-Type"), body)
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(body, &raw); err != nil {
			return err
		}
		for _, k := range []string{"Timestamp", "Gauges", "Points", "Counters", "Samples"} {
			if _, ok := raw[k]; !ok {
				t.Fatalf("no %s in %s", k, body)
			}
		}
		m = metricsSummary{}
		if err := json.Unmarshal(body, &m); err != nil {
			return err
		}
		s := sampleWith(m.Samples, "nomadlike.http.request", map[string]string{"route": "/v1/metrics", "method": "GET", "code": "200"})
		if s == nil {
			return fmt.Errorf("no http sample for /v1/metrics yet")
		}
		for _, k := range []string{"Count", "Rate", "Sum", "Min", "Max", "Mean", "Stddev"} {
			if _, ok := s[k]; !ok {
				t.Fatalf("sample %v has no %s", s, k)
			}
		}
		if sampleWith(m.Samples, "nomadlike.nomadlike.rpc.request", map[string]string{"method": "Status.Leader"}) == nil &&
			sampleWith(m.Samples, "nomadlike.nomadlike.rpc.request", nil) == nil {
			return fmt.Errorf("no rpc sample yet")
		}
		gauge := false
		for _, g := range m.Gauges {
			gauge = gauge || g.Name == "nomadlike.runtime.num_goroutines" && g.Value > 0
		}
		if !gauge {
			return fmt.Errorf("no runtime gauge yet (hostname must not be in gauge names by default)")
		}
		return nil
	})
	if _, err := time.Parse("2006-01-02 15:04:05 -0700 MST", m.Timestamp); err != nil {
		t.Fatalf("timestamp %q: %v", m.Timestamp, err)
	}
	// Counters and samples are never raw paths: the catch-all route
	// answers every unknown path under one label value.
	call(t, http.MethodGet, u+"/v1/no-such-thing-1")
	call(t, http.MethodGet, u+"/v1/no-such-thing-2")
	testutil.WaitForResult(t, 15*time.Second, func() error {
		getJSON(t, u+"/v1/metrics", &m)
		s := sampleWith(m.Samples, "nomadlike.http.request", map[string]string{"route": "/", "code": "404"})
		if s == nil {
			return fmt.Errorf("no 404 sample")
		}
		for _, s := range m.Samples {
			if l, _ := s["Labels"].(map[string]any); l != nil && strings.Contains(fmt.Sprint(l["route"]), "no-such-thing") {
				t.Fatalf("raw path as a label: %v", s)
			}
		}
		return nil
	})
}

func TestMetrics_Prometheus(t *testing.T) {
	a := TestAgent(t, nil)
	WaitForAgentLeader(t, a)
	u := a.URL()
	want := []string{
		"nomadlike_raft_",       // hashicorp/raft through go-metrics' global
		"nomadlike_memberlist_", // memberlist likewise
		`nomadlike_http_request{code="200",method="GET",route="/v1/agent/health"`,
		"nomadlike_nomadlike_rpc_request", // the RPC dispatcher
		"nomadlike_nomadlike_raftApply",   // writes
		"nomadlike_nomadlike_fsm_apply",   // the FSM, by message type
		"nomadlike_nomadlike_rpc_blocking_queries",
		"nomadlike_client_heartbeat", // the client beside the server
		"nomadlike_client_assignment_apply",
		`nomadlike_nomadlike_broker_eval_enqueued{scheduler="pipeline"}`,
		"nomadlike_nomadlike_broker_total_ready",
		`nomadlike_nomadlike_worker_eval_processed{outcome="ack",scheduler="pipeline"}`,
		`nomadlike_nomadlike_plan_apply_count{scheduler="pipeline"}`,
		// Any string is a method to net/http: unknown ones share a label.
		`method="OTHER",route="/v1/metrics"`,
		"go_goroutines", "go_memstats_", "process_",
	}
	testutil.WaitForResult(t, 20*time.Second, func() error {
		call(t, "BREW", u+"/v1/metrics")
		code, h, body := call(t, http.MethodGet, u+"/v1/metrics?format=prometheus")
		if strings.Contains(string(body), "BREW") {
			t.Fatalf("a raw method became a label value")
		}
		if code != http.StatusOK {
			return fmt.Errorf("%d %s", code, body)
		}
		if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
			t.Fatalf("content type %q", ct)
		}
		for _, w := range want {
			if !strings.Contains(string(body), w) {
				return fmt.Errorf("no %s in the scrape", w)
			}
		}
		return nil
	})

	// Prometheus offers OpenMetrics first; the agent answers the classic
	// text format, whose series names do not change with the protocol.
	req, _ := http.NewRequest(http.MethodGet, u+"/v1/metrics?format=prometheus", nil)
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Fatalf("scrape with Prometheus' Accept: %d %q", resp.StatusCode, ct)
	}
}

func TestMetrics_BadRequests(t *testing.T) {
	a := TestAgent(t, func(c *Config) { c.Telemetry.PrometheusMetrics = ptr(false) })
	u := a.URL()
	for _, tc := range []struct {
		method, query string
		code          int
		body          string
	}{
		{http.MethodPost, "", http.StatusMethodNotAllowed, "Invalid method"},
		{http.MethodGet, "?format=xml", http.StatusBadRequest, `Invalid format "xml"`},
		{http.MethodGet, "?format=prometheus", http.StatusUnsupportedMediaType, "Prometheus is not enabled"},
		{http.MethodGet, "?format=json", http.StatusOK, `"Gauges"`},
	} {
		code, _, body := call(t, tc.method, u+"/v1/metrics"+tc.query)
		if code != tc.code || !strings.Contains(string(body), tc.body) {
			t.Fatalf("%s %s: %d %s", tc.method, tc.query, code, body)
		}
	}
}

// With ACLs on, a scraper without a token is still answered: Nomad serves
// /v1/metrics without a token check, and Prometheus scrape configs rarely
// carry one.
func TestMetrics_NoTokenNeeded(t *testing.T) {
	a := TestAgent(t, func(c *Config) { c.ACL.Enabled = ptr(true); c.Client.Enabled = ptr(false) })
	if code, _, body := call(t, http.MethodGet, a.URL()+"/v1/agent/self"); code != http.StatusForbidden {
		t.Fatalf("self without a token: %d %s (ACLs are not on?)", code, body)
	}
	for _, q := range []string{"", "?format=prometheus"} {
		if code, _, body := call(t, http.MethodGet, a.URL()+"/v1/metrics"+q); code != http.StatusOK {
			t.Fatalf("metrics%s without a token: %d %s", q, code, body)
		}
	}
}

func TestMetrics_AddMetricsGatherer(t *testing.T) {
	a := TestAgent(t, func(c *Config) {
		c.Server.Enabled = ptr(false)
		c.Server.BootstrapExpect = ptr(0)
		c.Client.Servers = []string{"127.0.0.1:1"}
	})
	u := a.URL()
	// Gatherers are added while scrapes run (the client's metrics runtime
	// starts instances at any time): -race checks the hand-over.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			resp, err := http.Get(u + "/v1/metrics?format=prometheus")
			if err == nil {
				resp.Body.Close()
			}
		}
	}()
	counters := make([]prometheus.Counter, 4)
	for i := range counters {
		reg := prometheus.NewRegistry()
		counters[i] = prometheus.NewCounter(prometheus.CounterOpts{
			Name: "metrics_runtime_test_total", Help: "a test counter", ConstLabels: prometheus.Labels{"instance_config": fmt.Sprint(i)},
		})
		reg.MustRegister(counters[i])
		counters[i].Add(float64(i + 1))
		a.AddMetricsGatherer(reg)
	}
	close(stop)
	wg.Wait()

	_, _, body := call(t, http.MethodGet, u+"/v1/metrics?format=prometheus")
	for i := range counters {
		line := fmt.Sprintf(`metrics_runtime_test_total{instance_config="%d"} %d`, i, i+1)
		if !strings.Contains(string(body), line) {
			t.Fatalf("no %q in\n%s", line, body)
		}
	}
	// One family, one HELP line: the gatherers are merged, not concatenated.
	if n := strings.Count(string(body), "# HELP metrics_runtime_test_total "); n != 1 {
		t.Fatalf("%d HELP lines for the merged family", n)
	}
	if !strings.Contains(string(body), "go_goroutines") {
		t.Fatalf("runtime collectors missing beside the added gatherers")
	}
}
