package metrics

import (
	"strings"
	"time"

	gometrics "github.com/hashicorp/go-metrics/compat"
)

// Figures are an instance's own numbers, read from its Prometheus
// registry, for the agent's go-metrics telemetry (the JSON form of
// /v1/metrics; the Prometheus form has the registries themselves).
type Figures struct {
	SamplesAppended float64
	WALBytes        float64
	RemotePending   float64
	RemoteFailed    float64
	RemoteSent      float64
}

// Figures returns every running or draining instance's figures.
func (m *Manager) Figures() map[string]Figures {
	m.mu.Lock()
	ins := make([]*instance, 0, len(m.running)+len(m.draining))
	for _, in := range m.running {
		ins = append(ins, in)
	}
	for _, in := range m.draining {
		ins = append(ins, in)
	}
	m.mu.Unlock()
	out := make(map[string]Figures, len(ins))
	for _, in := range ins {
		mfs, err := in.reg.Gather()
		if err != nil {
			continue
		}
		var f Figures
		for _, mf := range mfs {
			var sum float64
			for _, mm := range mf.GetMetric() {
				sum += mm.GetCounter().GetValue() + mm.GetGauge().GetValue()
			}
			name := mf.GetName()
			switch {
			case name == "prometheus_agent_samples_appended_total":
				f.SamplesAppended = sum
			case strings.HasSuffix(name, "wal_storage_size_bytes"):
				f.WALBytes = sum
			case name == "prometheus_remote_storage_samples_pending":
				f.RemotePending = sum
			case name == "prometheus_remote_storage_samples_failed_total":
				f.RemoteFailed = sum
			case name == "prometheus_remote_storage_samples_total":
				f.RemoteSent = sum
			}
		}
		out[in.name] = f
	}
	return out
}

// EmitFigures sets go-metrics gauges from Figures every interval until
// stop closes: nomadlike.client.metrics.{samples_appended,wal_bytes,
// remote_pending,remote_failed,remote_sent}, labelled by instance.
func (m *Manager) EmitFigures(interval time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		for name, f := range m.Figures() {
			labels := []gometrics.Label{{Name: "instance", Value: name}}
			for key, v := range map[string]float64{
				"samples_appended": f.SamplesAppended, "wal_bytes": f.WALBytes,
				"remote_pending": f.RemotePending, "remote_failed": f.RemoteFailed, "remote_sent": f.RemoteSent,
			} {
				gometrics.SetGaugeWithLabels([]string{"client", "metrics", key}, float32(v), labels)
			}
		}
	}
}
