package agent

import (
	"strings"
	"testing"
)

func TestTelemetry_ConfigDefaultsParseAndMerge(t *testing.T) {
	d := DefaultConfig()
	if *d.Telemetry.CollectionInterval != "1s" || !*d.Telemetry.DisableHostname || !*d.Telemetry.PrometheusMetrics {
		t.Fatalf("defaults %+v", *d.Telemetry)
	}

	// A file setting one key overrides only that key.
	c, err := ParseConfig([]byte("telemetry {\n  prometheus_metrics = false\n}\n"), "a.hcl")
	if err != nil {
		t.Fatal(err)
	}
	d.Merge(c)
	if *d.Telemetry.PrometheusMetrics || *d.Telemetry.CollectionInterval != "1s" || !*d.Telemetry.DisableHostname {
		t.Fatalf("after a.hcl %+v", *d.Telemetry)
	}
	c, err = ParseConfig([]byte(`telemetry {
  collection_interval = "5s"
  disable_hostname    = false
}
`), "b.hcl")
	if err != nil {
		t.Fatal(err)
	}
	d.Merge(c)
	if *d.Telemetry.PrometheusMetrics || *d.Telemetry.CollectionInterval != "5s" || *d.Telemetry.DisableHostname {
		t.Fatalf("after b.hcl %+v", *d.Telemetry)
	}
	d.Server.Enabled = ptr(true)
	d.DataDir = ptr(t.TempDir())
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := d.Telemetry.collectionInterval().String(); got != "5s" {
		t.Fatalf("interval %s", got)
	}
}

func TestTelemetry_ConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want []string
	}{
		{`telemetry { collection_interval = "soon" }`, []string{`telemetry.collection_interval: "soon" is not a duration`}},
		{`telemetry { collection_interval = "10ms" }`, []string{`telemetry.collection_interval: "10ms" must be at least 100ms`}},
		{`telemetry { collection_interval = "-1s" }`, []string{`telemetry.collection_interval: "-1s" must be at least 100ms`}},
	} {
		c, err := ParseConfig([]byte(tc.src), "t.hcl")
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		d := DefaultConfig()
		d.Server.Enabled = ptr(true)
		d.DataDir = ptr(t.TempDir())
		d.Merge(c)
		err = d.Validate()
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Fatalf("%s: error %v does not contain %q", tc.src, err, w)
			}
		}
	}
	// Parse errors name the key too.
	for src, want := range map[string]string{
		"telemetry {\n  prometheus_metrics = \"maybe\"\n}\n": "telemetry.prometheus_metrics",
		"telemetry {\n  statsd_address = \"x\"\n}\n":         "telemetry.statsd_address",
	} {
		if _, err := ParseConfig([]byte(src), "t.hcl"); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "t.hcl:2") {
			t.Fatalf("%q: error %v does not name %s at line 2", src, err, want)
		}
	}
}

// The effective telemetry settings are in /v1/agent/self, as Nomad shows
// them.
func TestTelemetry_AgentSelf(t *testing.T) {
	a := TestAgent(t, func(c *Config) {
		c.Client.Enabled = ptr(false)
		c.Telemetry.CollectionInterval = ptr("2s")
	})
	var self struct {
		Config struct {
			Telemetry map[string]any
		} `json:"config"`
	}
	getJSON(t, a.URL()+"/v1/agent/self", &self)
	tel := self.Config.Telemetry
	if tel["CollectionInterval"] != "2s" || tel["DisableHostname"] != true || tel["PrometheusMetrics"] != true {
		t.Fatalf("telemetry in self: %v", tel)
	}
}
