package nomadlike

import (
	"time"

	metrics "github.com/hashicorp/go-metrics/compat"

	"github.com/nomadlike/nomadlike/structs"
)

// Metric keys, in Nomad's style: the process's service name
// ("nomadlike") is prefixed by go-metrics, so these read
// nomadlike.nomadlike.rpc.request and so on, as Nomad's read
// nomad.nomad.rpc.request. Every label takes its values from a bounded
// set (registered RPC methods, message types, scheduler types).
var (
	keyRPCRequest      = []string{"nomadlike", "rpc", "request"}
	keyRPCRequestError = []string{"nomadlike", "rpc", "request_error"}
	keyRPCForward      = []string{"nomadlike", "rpc", "forward"}
	keyRPCForwardError = []string{"nomadlike", "rpc", "forward_error"}
	keyBlockingQueries = []string{"nomadlike", "rpc", "blocking_queries"}
	keyRaftApply       = []string{"nomadlike", "raftApply"}
	keyRaftApplyError  = []string{"nomadlike", "raftApply", "error"}

	keyBrokerEnqueued = []string{"nomadlike", "broker", "eval_enqueued"}
	keyBrokerNack     = []string{"nomadlike", "broker", "eval_nack"}
	keyBrokerFailed   = []string{"nomadlike", "broker", "eval_failed"}
	keyBrokerReady    = []string{"nomadlike", "broker", "ready"}
	keyBrokerUnacked  = []string{"nomadlike", "broker", "unacked"}

	keyWorkerInvoke    = []string{"nomadlike", "worker", "invoke_scheduler"}
	keyWorkerProcessed = []string{"nomadlike", "worker", "eval_processed"}
	keyPlanApply       = []string{"nomadlike", "plan", "apply"}
)

func label(name, value string) []metrics.Label {
	return []metrics.Label{{Name: name, Value: value}}
}

func schedulerLabel(t string) []metrics.Label { return label("scheduler", t) }

// emitStats samples the server's gauges every StatsCollectionInterval
// until shutdown, as Nomad's servers do: gauges that are sampled rather
// than set on every change cost nothing on the hot paths and keep their
// Prometheus series from expiring while nothing changes.
func (s *Server) emitStats() {
	interval := s.config.StatsCollectionInterval
	if interval <= 0 {
		interval = time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.shutdownCh:
			return
		case <-t.C:
		}
		metrics.SetGauge(keyBlockingQueries, float32(s.blockingQueries.Load()))
		s.evalBroker.emitStats()
	}
}

// emitStats sets the broker's gauges, per scheduler type and in total
// (Nomad's broker.total_*), on the leader only: a follower's broker is
// off and holds nothing.
func (b *evalBroker) emitStats() {
	b.mu.Lock()
	if !b.enabled {
		b.mu.Unlock()
		return
	}
	st := b.stats
	ready := map[string]int{}
	for t, q := range b.ready {
		ready[t] = len(q)
	}
	unacked := map[string]int{}
	for _, be := range b.unack {
		unacked[be.eval.Type]++
	}
	b.mu.Unlock()
	for _, t := range schedulerTypesSeen(ready, unacked) {
		metrics.SetGaugeWithLabels(keyBrokerReady, float32(ready[t]), schedulerLabel(t))
		metrics.SetGaugeWithLabels(keyBrokerUnacked, float32(unacked[t]), schedulerLabel(t))
	}
	metrics.SetGauge([]string{"nomadlike", "broker", "total_ready"}, float32(st.Ready))
	metrics.SetGauge([]string{"nomadlike", "broker", "total_unacked"}, float32(st.Unacked))
	metrics.SetGauge([]string{"nomadlike", "broker", "total_blocked"}, float32(st.Blocked))
	metrics.SetGauge([]string{"nomadlike", "broker", "total_delayed"}, float32(st.Delayed))
}

// schedulerTypesSeen is every known scheduler type plus any other type
// the broker holds (evaluation types are the scheduler types).
func schedulerTypesSeen(ms ...map[string]int) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range structs.SchedulerTypes {
		seen[t] = true
		out = append(out, t)
	}
	for _, m := range ms {
		for t := range m {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	return out
}
