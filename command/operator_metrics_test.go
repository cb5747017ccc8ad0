package command

import (
	"encoding/json"
	"testing"

	"github.com/nomadlike/nomadlike/api"
)

const metricsBody = `{"Timestamp":"2026-12-04 19:08:30 +0000 UTC",
 "Gauges":[{"Name":"nomadlike.runtime.num_goroutines","Value":42,"Labels":{}}],
 "Points":[],
 "Counters":[{"Name":"nomadlike.nomadlike.rpc.request_error","Count":1,"Rate":0.1,"Sum":1,"Min":1,"Max":1,"Mean":1,"Stddev":0,"Labels":{"method":"Node.Register"}}],
 "Samples":[{"Name":"nomadlike.http.request","Count":3,"Rate":0.3,"Sum":1.5,"Min":0.2,"Max":0.9,"Mean":0.5,"Stddev":0.3,"Labels":{"route":"/v1/nodes","method":"GET","code":"200"}}]}`

const promBody = "# HELP go_goroutines Number of goroutines that currently exist.\n# TYPE go_goroutines gauge\ngo_goroutines 42\n"

func TestOperatorMetrics_JSON(t *testing.T) {
	f := newFakeAgent(t, map[string]reply{"GET /v1/metrics": {200, metricsBody}})
	for _, args := range [][]string{nil, {"-json"}, {"-pretty"}} {
		r := runCommand(t, f, "operator metrics", args...)
		mustSucceed(t, r)
		var got api.MetricsSummary
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
			t.Fatalf("%v: stdout is not JSON: %v\n%s", args, err, r.stdout)
		}
		if len(got.Gauges) != 1 || got.Gauges[0].Value != 42 || len(got.Samples) != 1 ||
			got.Samples[0].Count != 3 || got.Samples[0].DisplayLabels["route"] != "/v1/nodes" ||
			got.Counters[0].DisplayLabels["method"] != "Node.Register" {
			t.Fatalf("%v: decoded %+v", args, got)
		}
	}
	if f.find(t, "GET", "/v1/metrics").query.Has("format") {
		t.Fatalf("format sent without -format")
	}
}

func TestOperatorMetrics_Prometheus(t *testing.T) {
	f := newFakeAgent(t, map[string]reply{"GET /v1/metrics": {200, promBody}})
	r := runCommand(t, f, "operator metrics", "-format=prometheus")
	mustSucceed(t, r)
	if r.stdout != promBody {
		t.Fatalf("stdout %q", r.stdout)
	}
	if q := f.find(t, "GET", "/v1/metrics").query; q.Get("format") != "prometheus" {
		t.Fatalf("query %v", q)
	}
}

func TestOperatorMetrics_Errors(t *testing.T) {
	r := runCommand(t, nil, "operator metrics", "-format=xml")
	if r.code != 1 || r.stdout != "" {
		t.Fatalf("-format=xml: %+v", r)
	}
	r = runCommand(t, nil, "operator metrics", "-format=prometheus", "-json")
	if r.code != 1 || r.stdout != "" {
		t.Fatalf("-json with prometheus: %+v", r)
	}
	f := newFakeAgent(t, map[string]reply{"GET /v1/metrics": {415, "Prometheus is not enabled (telemetry { prometheus_metrics = true })"}})
	mustFail(t, runCommand(t, f, "operator metrics", "-format=prometheus"),
		"Error querying metrics: Unexpected response code: 415 (Prometheus is not enabled")
}
