package agent

import (
	"testing"
)

// TestAgent_HostMetricsWired: a client agent runs the host metrics pusher
// by default (its figures are in the client's stats, /v1/agent/self), and
// not when client { host_metrics { enabled = false } }.
func TestAgent_HostMetricsWired(t *testing.T) {
	a := TestAgent(t, nil)
	s := a.client.Stats()
	if s["host_metrics_enabled"] != "true" || s["host_metrics_sent"] != "0" || s["host_metrics_buffered"] != "0" {
		t.Fatalf("client stats %v", s)
	}
	off := TestAgent(t, func(c *Config) { c.Client.HostMetrics.Enabled = ptr(false) })
	if s := off.client.Stats(); s["host_metrics_enabled"] != "false" {
		t.Fatalf("client stats with host metrics off: %v", s)
	}
}
