package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"testing"
	"time"
)

// TestHostMetrics_SpecExample: spec 004's example payload decodes into
// HostMetrics with no field left over, and encodes back to the same JSON.
func TestHostMetrics_SpecExample(t *testing.T) {
	raw, err := os.ReadFile("testdata/host_metrics_spec_example.json")
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var m HostMetrics
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("spec example: %v", err)
	}
	if m.CPUPercent == nil || *m.CPUPercent != 1 || m.ServerHealthy == nil || !*m.ServerHealthy ||
		m.TopProcesses == nil || len(m.TopProcesses.ByCPU) != 1 || m.Containers[0].Ports[0].PublicPort == nil ||
		m.CertCheckResults[0].DaysUntilExpiry == nil || m.Containers[0].Labels["additionalProperty"] != "example" {
		t.Fatalf("decoded %+v", m)
	}
	back, err := json.Marshal(&m)
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	json.Unmarshal(raw, &want)
	json.Unmarshal(back, &got)
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("round trip differs:\n%s\nwant\n%s", back, raw)
	}
}

func TestNodes_Metrics(t *testing.T) {
	payload, err := os.ReadFile("testdata/host_metrics_spec_example.json")
	if err != nil {
		t.Fatal(err)
	}
	payload = bytes.TrimSpace(payload)
	f, c := newFakeAgent(t, 200, `{"NodeID":"`+nodeID+`","NodeName":"web-1","ReceivedAt":"2026-12-05T10:00:00Z",
	 "Server":"server-1","Payload":`+string(payload)+`,"Warnings":["server-3: unreachable"]}`)
	m, _, err := c.Nodes().Metrics(nodeID, nil)
	if err != nil {
		t.Fatalf("Metrics: %v", err)
	}
	f.expect(t, "GET", "/v1/node/"+nodeID+"/metrics", nil)
	if m.NodeID != nodeID || m.NodeName != "web-1" || m.Server != "server-1" ||
		!m.ReceivedAt.Equal(time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)) ||
		!reflect.DeepEqual(m.Warnings, []string{"server-3: unreachable"}) {
		t.Fatalf("metrics = %+v", m)
	}
	if !bytes.Equal(m.Raw, payload) {
		t.Fatalf("Raw is not the payload as sent:\n%s", m.Raw)
	}
	if m.Payload == nil || m.Payload.AgentVersion == nil || *m.Payload.AgentVersion != "example" ||
		m.Payload.TopProcesses.Stats.Zombie != 1 {
		t.Fatalf("payload = %+v", m.Payload)
	}
	// Encoded, a NodeMetrics is the endpoint's answer again (compacted:
	// encoding/json compacts a RawMessage).
	enc, _ := json.Marshal(m)
	var again NodeMetrics
	var compact bytes.Buffer
	json.Compact(&compact, payload)
	if err := json.Unmarshal(enc, &again); err != nil || !bytes.Equal(again.Raw, compact.Bytes()) {
		t.Fatalf("re-encoded: %s (%v)", enc, err)
	}

	f.status, f.body = 404, "no host metrics for node "+nodeID
	_, _, err = c.Nodes().Metrics(nodeID, nil)
	var ure UnexpectedResponseError
	if !errors.As(err, &ure) || ure.StatusCode() != 404 || ure.Body() != "no host metrics for node "+nodeID {
		t.Fatalf("err = %v, want 404", err)
	}
	if _, _, err := c.Nodes().Metrics("", nil); err == nil {
		t.Fatal("Metrics with an empty ID should fail")
	}
}
