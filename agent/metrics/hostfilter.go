package metrics

import (
	"net"
	"os"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
)

// hostFilterLabels are the labels Grafana Agent's host_filter compares
// with the host's names: the address and what service discovery says
// about the node a target runs on.
var hostFilterLabels = []string{
	model.AddressLabel,
	"__meta_consul_node",
	"__meta_dockerswarm_node_id",
	"__meta_dockerswarm_node_hostname",
	"__meta_dockerswarm_node_address",
	"__meta_kubernetes_pod_node_name",
	"__meta_kubernetes_node_name",
	"__host__",
}

// hostFilter keeps the targets that run on this host (host_filter: true),
// after host_filter_relabel_configs.
type hostFilter struct {
	names   map[string]bool
	relabel []*relabel.Config
}

// hostNames are the names a target on this host may be known by; set by
// the manager from the agent's node name (and the OS hostname).
var hostNames = func() map[string]bool {
	names := map[string]bool{"localhost": true}
	if h, err := os.Hostname(); err == nil {
		names[h] = true
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				names[ipn.IP.String()] = true
			}
		}
	}
	return names
}

func newHostFilter(cfg *parsed) *hostFilter {
	if !cfg.hostFilter {
		return nil
	}
	names := hostNames()
	for _, n := range cfg.extraHostNames {
		names[n] = true
	}
	return &hostFilter{names: names, relabel: cfg.hostFilterRelabel}
}

func (f *hostFilter) apply(tsets map[string][]*targetgroup.Group) map[string][]*targetgroup.Group {
	out := make(map[string][]*targetgroup.Group, len(tsets))
	lb := labels.NewBuilder(labels.EmptyLabels())
	for job, groups := range tsets {
		for _, g := range groups {
			ng := &targetgroup.Group{Labels: g.Labels, Source: g.Source}
			for _, t := range g.Targets {
				if f.keep(lb, t, g.Labels) {
					ng.Targets = append(ng.Targets, t)
				}
			}
			// An emptied group is still sent, so that targets that
			// left this host are stopped.
			out[job] = append(out[job], ng)
		}
	}
	return out
}

func (f *hostFilter) keep(lb *labels.Builder, target, common model.LabelSet) bool {
	lb.Reset(labels.EmptyLabels())
	for k, v := range common {
		lb.Set(string(k), string(v))
	}
	for k, v := range target {
		lb.Set(string(k), string(v))
	}
	if len(f.relabel) > 0 && !relabel.ProcessBuilder(lb, f.relabel...) {
		return false
	}
	for _, name := range hostFilterLabels {
		v := lb.Get(name)
		if v == "" {
			continue
		}
		if name == model.AddressLabel {
			if host, _, err := net.SplitHostPort(v); err == nil {
				v = host
			}
		}
		if f.names[v] {
			return true
		}
	}
	return false
}
