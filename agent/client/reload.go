package client

import (
	"errors"
	"maps"
	"strings"

	"github.com/nomadlike/nomadlike/agent/hostmetrics"
	instances "github.com/nomadlike/nomadlike/agent/metrics"
	"github.com/nomadlike/nomadlike/structs"
)

// What an agent's reload changes in a running client: each keeps the
// node's identity and registration, and restarts nothing else.

// SetMeta replaces the node's metadata and registers the node again with
// it (an upsert of the same node: its ID, secret and CreateIndex stay),
// so that pipelines matching on meta see the change at once. When no
// server takes it now, the next heartbeat registers instead.
func (c *Client) SetMeta(meta map[string]string) {
	meta = maps.Clone(meta)
	if meta == nil {
		meta = map[string]string{}
	}
	c.reregister("meta", func(n *structs.Node) bool {
		if maps.Equal(n.Meta, meta) {
			return false
		}
		n.Meta = meta
		return true
	})
}

// SetAttributes replaces the node's attributes whose keys start with
// prefix by attrs (each key starting with it) and registers the node
// again, as SetMeta does: the servers see, e.g., the integrations a reload
// changed.
func (c *Client) SetAttributes(prefix string, attrs map[string]string) {
	c.reregister("attributes", func(n *structs.Node) bool {
		next := maps.Clone(n.Attributes)
		if next == nil {
			next = map[string]string{}
		}
		maps.DeleteFunc(next, func(k, _ string) bool { return strings.HasPrefix(k, prefix) })
		maps.Copy(next, attrs)
		if maps.Equal(n.Attributes, next) {
			return false
		}
		n.Attributes = next
		return true
	})
}

// reregister changes the node with change and, when it changed anything,
// registers it again (an upsert of the same node: its ID, secret and
// CreateIndex stay). When no server takes it now, the next heartbeat
// registers instead.
func (c *Client) reregister(what string, change func(*structs.Node) bool) {
	c.mu.Lock()
	if !change(c.node) {
		c.mu.Unlock()
		return
	}
	node := c.node.Copy()
	c.mu.Unlock()
	var resp structs.NodeUpdateResponse
	err := c.RPC("Node.Register", &structs.NodeRegisterRequest{
		Node:         node,
		WriteRequest: structs.WriteRequest{Region: c.config.Region, AuthToken: c.config.Token},
	}, &resp)
	if err != nil {
		c.logger.Warn("registering the node's new "+what+" failed; the next heartbeat registers it", "error", err)
		c.mu.Lock()
		c.registered = false
		c.mu.Unlock()
		return
	}
	c.logger.Info("node "+what+" updated", "node_id", node.ID)
}

// SetLocalMetrics replaces the agent's own metrics instances and applies
// them beside the assigned configs: unchanged instances keep running,
// changed ones are reloaded, removed ones drain. The error is the
// runner's for the instances that did not start (each is in its status).
func (c *Client) SetLocalMetrics(local []instances.Spec) error {
	if c.config.Metrics == nil {
		return errors.New("this client runs no metrics instances")
	}
	c.metricsMu.Lock()
	defer c.metricsMu.Unlock()
	c.local = local
	return c.applyMetricsLocked(true)
}

// SetHostMetricsChecks replaces the host metrics health checks (see
// hostmetrics.Collector.SetChecks).
func (c *Client) SetHostMetricsChecks(checks []hostmetrics.Check) error {
	if c.hostMetrics == nil {
		return errors.New("host metrics are off on this client")
	}
	return c.hostMetrics.collector.SetChecks(checks)
}
