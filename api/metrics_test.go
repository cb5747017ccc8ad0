package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/agent"
	"github.com/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/testutil"
)

func TestMetrics_AgainstAgent(t *testing.T) {
	a := agent.TestAgent(t, func(c *agent.Config) { c.Client.Enabled = ptr(false) })
	c := newClient(t, a)
	if _, err := c.Status().Leader(); err != nil {
		t.Fatal(err)
	}

	testutil.WaitForResult(t, 15*time.Second, func() error {
		sum, err := c.Agent().Metrics(nil)
		if err != nil {
			return err
		}
		if _, err := time.Parse("2006-01-02 15:04:05 -0700 MST", sum.Timestamp); err != nil {
			t.Fatalf("timestamp %q: %v", sum.Timestamp, err)
		}
		for _, s := range sum.Samples {
			if s.Name == "nomadlike.http.request" && s.DisplayLabels["route"] == "/v1/status/leader" &&
				s.AggregateSample != nil && s.Count > 0 && s.Max >= s.Min {
				return nil
			}
		}
		return fmt.Errorf("no /v1/status/leader sample in %d samples", len(sum.Samples))
	})

	sum, qm, err := c.Operator().MetricsSummary(nil)
	if err != nil || qm == nil || sum == nil || sum.Timestamp == "" || len(sum.Samples) == 0 {
		t.Fatalf("MetricsSummary: %v %v %+v", err, qm, sum)
	}
	raw, err := c.Operator().Metrics(nil)
	if err != nil || !strings.HasPrefix(string(raw), `{"Timestamp":`) {
		t.Fatalf("Operator().Metrics: %v %.80s", err, raw)
	}
	text, err := c.Agent().MetricsPrometheus(nil)
	if err != nil || !strings.Contains(string(text), "# TYPE go_goroutines gauge") {
		t.Fatalf("MetricsPrometheus: %v %.200s", err, text)
	}
	same, err := c.Operator().Metrics(&api.QueryOptions{Params: map[string]string{"format": "prometheus"}})
	if err != nil || !strings.Contains(string(same), "# TYPE go_goroutines gauge") {
		t.Fatalf("Operator().Metrics(format=prometheus): %v %.200s", err, same)
	}
}

func TestMetrics_PrometheusDisabled(t *testing.T) {
	a := agent.TestAgent(t, func(c *agent.Config) {
		c.Client.Enabled = ptr(false)
		c.Telemetry.PrometheusMetrics = ptr(false)
	})
	c := newClient(t, a)
	_, err := c.Agent().MetricsPrometheus(nil)
	wantUnexpected(t, "MetricsPrometheus", err, http.StatusUnsupportedMediaType, "Prometheus is not enabled")
	if _, err := c.Agent().Metrics(nil); err != nil {
		t.Fatalf("the JSON summary does not depend on prometheus_metrics: %v", err)
	}
}
