package client

import (
	"errors"

	"github.com/nomadlike/nomadlike/agent/logs"
	"github.com/nomadlike/nomadlike/structs"
)

// LogsRunner runs logs instances (agent/logs.Manager).
type LogsRunner interface {
	Apply(specs []logs.Spec) error
}

// applyLogsConfigs hands the logs runner the local instances plus the
// assigned logs configs, when what is assigned changed since the last
// apply.
func (c *Client) applyLogsConfigs(configs []*structs.AssignedConfig) {
	if c.config.Logs == nil {
		return
	}
	c.logsMu.Lock()
	defer c.logsMu.Unlock()
	c.assignedLogs = configs
	c.applyLogsLocked(false)
}

// applyLogsLocked applies the local and assigned logs instances; unless
// force, only when the assigned ones changed. logsMu is held.
func (c *Client) applyLogsLocked(force bool) error {
	specs, key := withAssigned(c.localLogs, c.assignedLogs, func(cfg *structs.AssignedConfig) logs.Spec {
		return logs.Spec{Name: cfg.Name, YAML: []byte(cfg.Contents), Source: "assigned"}
	})
	if !force && c.logsApplied && c.logsKey == key {
		return nil
	}
	err := c.config.Logs.Apply(specs)
	if err != nil {
		c.logger.Error("applying logs instances", "error", err)
	}
	c.logsKey, c.logsApplied = key, true
	return err
}

// SetLocalLogs replaces the agent's own logs instances and applies them
// beside the assigned ones: unchanged instances keep tailing.
func (c *Client) SetLocalLogs(local []logs.Spec) error {
	if c.config.Logs == nil {
		return errors.New("this client runs no logs instances")
	}
	c.logsMu.Lock()
	defer c.logsMu.Unlock()
	c.localLogs = local
	return c.applyLogsLocked(true)
}
