package client

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nomadlike/nomadlike/agent/metrics"
	"github.com/nomadlike/nomadlike/structs"
)

// MetricsRunner runs metrics instances (agent/metrics.Manager).
type MetricsRunner interface {
	Apply(specs []metrics.Spec) error
	Status() []metrics.InstanceStatus
}

// defaultStatusInterval is how often the client looks for changes in its
// instances' health to report.
const defaultStatusInterval = 10 * time.Second

// applyConfigs hands the metrics runner the local instances plus the
// assigned metrics configs, and the logs runner its own (logs.go), when
// what is assigned changed since the last apply.
func (c *Client) applyConfigs(configs []*structs.AssignedConfig) {
	var metricsConfigs, logsConfigs []*structs.AssignedConfig
	for _, cfg := range configs {
		if cfg.Kind == structs.ConfigKindLogs {
			logsConfigs = append(logsConfigs, cfg)
		} else {
			metricsConfigs = append(metricsConfigs, cfg)
		}
	}
	c.applyLogsConfigs(logsConfigs)
	if c.config.Metrics == nil {
		return
	}
	c.metricsMu.Lock()
	defer c.metricsMu.Unlock()
	c.assigned = metricsConfigs
	c.applyMetricsLocked(false)
}

// applyMetricsLocked hands the runner the local instances and the last
// assigned configs; unless force, only when the assigned ones changed
// since the last apply. metricsMu is held.
func (c *Client) applyMetricsLocked(force bool) error {
	specs, key := withAssigned(c.local, c.assigned, func(cfg *structs.AssignedConfig) metrics.Spec {
		return metrics.Spec{Name: cfg.Name, YAML: []byte(cfg.Contents), Source: "assigned"}
	})
	if !force && c.metricsApplied && c.metricsKey == key {
		return nil
	}
	start := time.Now()
	err := c.config.Metrics.Apply(specs)
	if err != nil {
		// The failed ones are in the runner's status, reported below.
		c.logger.Error("applying metrics instances", "error", err)
	}
	c.logger.Debug("metrics instances applied", "configs", len(c.assigned), "took", time.Since(start))
	c.metricsKey, c.metricsApplied = key, true
	return err
}

// withAssigned is local followed by the specs of the assigned configs,
// and a key that names the assigned configs' versions: an apply whose key
// has not changed has nothing new to run.
func withAssigned[S any](local []S, assigned []*structs.AssignedConfig, spec func(*structs.AssignedConfig) S) ([]S, string) {
	var key strings.Builder
	specs := slices.Clone(local)
	for _, cfg := range assigned {
		fmt.Fprintf(&key, "%s@%d,", cfg.Name, cfg.ModifyIndex)
		specs = append(specs, spec(cfg))
	}
	return specs, key.String()
}

// instanceStatus is the runner's status as the servers store it.
func (c *Client) instanceStatus() []*structs.MetricsInstanceStatus {
	if c.config.Metrics == nil {
		return nil
	}
	var out []*structs.MetricsInstanceStatus
	for _, s := range c.config.Metrics.Status() {
		out = append(out, &structs.MetricsInstanceStatus{
			Name: s.Name, Source: s.Source, State: s.State, Error: s.Error,
			TargetsUp: s.TargetsUp, TargetsDown: s.TargetsDown, TargetsUnknown: s.TargetsUnknown,
			LastError: s.LastError,
		})
	}
	return out
}

// reportInstances reports the instances' status when it changed, every
// StatusInterval, so that `config status` shows target health without the
// node writing to raft while nothing changes.
func (c *Client) reportInstances() {
	interval := c.config.StatusInterval
	if interval <= 0 {
		interval = defaultStatusInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-c.shutdownCh:
			return
		case <-t.C:
		}
		if !c.Registered() {
			continue
		}
		if err := c.reportApplied(nil); err != nil {
			c.logger.Debug("reporting metrics instances failed", "error", err)
		}
	}
}

// reportApplied sends what the node applies now (pipelines hash and error,
// metrics instances) unless the servers already have it: stored is their
// copy when the caller has one, else the last report this client sent.
func (c *Client) reportApplied(stored *structs.NodeAssignment) error {
	c.reportMu.Lock()
	defer c.reportMu.Unlock()
	st := &c.assignment
	st.mu.Lock()
	hash, errText := st.status.Hash, st.status.Error
	st.mu.Unlock()
	instances := c.instanceStatus()
	if stored == nil {
		stored = c.lastReport
	}
	if stored != nil && stored.AppliedHash == hash && stored.AppliedError == errText &&
		slices.EqualFunc(stored.Instances, instances, (*structs.MetricsInstanceStatus).Equal) {
		return nil
	}
	var out structs.GenericResponse
	if err := c.RPC("Node.UpdateAssignmentApplied", &structs.NodeAssignmentAppliedRequest{
		NodeID: c.node.ID, SecretID: c.node.SecretID, Hash: hash, Error: errText, Instances: instances,
		WriteRequest: structs.WriteRequest{Region: c.config.Region, AuthToken: c.config.Token},
	}, &out); err != nil {
		c.lastReport = nil
		return fmt.Errorf("reporting applied assignment: %w", err)
	}
	c.lastReport = &structs.NodeAssignment{AppliedHash: hash, AppliedError: errText, Instances: instances}
	return nil
}
