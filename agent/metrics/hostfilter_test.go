package metrics

import (
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"github.com/prometheus/prometheus/model/relabel"
)

// TestHostFilter keeps targets whose address or node labels name this
// host, after host_filter_relabel_configs, and still sends emptied groups.
func TestHostFilter(t *testing.T) {
	f := &hostFilter{names: map[string]bool{"web-1": true, "10.0.0.1": true, "localhost": true}}
	groups := map[string][]*targetgroup.Group{"job": {{
		Source: "s",
		Targets: []model.LabelSet{
			{model.AddressLabel: "10.0.0.1:9100"},
			{model.AddressLabel: "10.0.0.2:9100"},
			{model.AddressLabel: "10.0.0.3:9100", "__meta_consul_node": "web-1"},
			{model.AddressLabel: "localhost:9100"},
		},
	}, {Source: "other", Targets: []model.LabelSet{{model.AddressLabel: "10.9.9.9:1"}}}}}
	out := f.apply(groups)["job"]
	if len(out) != 2 || len(out[0].Targets) != 3 || len(out[1].Targets) != 0 {
		t.Fatalf("filtered: %+v", out)
	}
	if out[0].Targets[1]["__meta_consul_node"] != "web-1" {
		t.Fatalf("kept the wrong targets: %v", out[0].Targets)
	}
	// A relabel rule that drops the consul-matched target first.
	f.relabel = []*relabel.Config{{SourceLabels: model.LabelNames{"__meta_consul_node"}, Regex: relabel.MustNewRegexp("web-1"),
		Action: relabel.Drop, Separator: ";", NameValidationScheme: model.UTF8Validation}}
	if out := f.apply(groups)["job"]; len(out[0].Targets) != 2 {
		t.Fatalf("after relabel: %v", out[0].Targets)
	}
}
