package structs

import (
	"fmt"
	"maps"
	"net/http"
	"time"
)

// Node statuses.
const (
	NodeStatusInit  = "initializing"
	NodeStatusReady = "ready"
	NodeStatusDown  = "down"
)

// ValidNodeStatus reports whether s is a status a node may have.
func ValidNodeStatus(s string) bool {
	switch s {
	case NodeStatusInit, NodeStatusReady, NodeStatusDown:
		return true
	}
	return false
}

// Node is a client agent registered with the servers, or an external
// node (External) that an operator's agent token stands for.
type Node struct {
	// ID is generated once by the client and kept in its data dir.
	ID string
	// SecretID authenticates the node's own heartbeats; it is never
	// returned by the HTTP API.
	SecretID string `json:",omitempty"`
	Name     string
	// Datacenter and Region the node runs in.
	Datacenter string
	// HTTPAddr is the advertised address of the node's HTTP API.
	HTTPAddr string
	// Attributes are fingerprinted facts (collector.os, collector.arch,
	// hostname, ...).
	Attributes map[string]string
	// Meta holds user-supplied key/value pairs (-meta).
	Meta map[string]string
	// External is set on a node registered by an operator's agent token
	// (POST /v1/node/token), not by a nomadlike client: a host running some
	// other agent that only pushes host metrics. It never heartbeats, so
	// the heartbeat TTL never marks it down; its Status is "ready".
	External bool
	// Status is one of the NodeStatus constants.
	Status            string
	StatusDescription string
	// StatusUpdatedAt is the unix time of the last status change.
	StatusUpdatedAt int64
	CreateIndex     uint64
	ModifyIndex     uint64
}

// Validate checks what a client sends at registration.
func (n *Node) Validate() error {
	switch {
	case n == nil:
		return NewErrCoded(http.StatusBadRequest, "missing node for registration")
	case n.ID == "":
		return NewErrCoded(http.StatusBadRequest, "missing node ID for registration")
	case n.Name == "":
		return NewErrCoded(http.StatusBadRequest, "missing node name for registration")
	case n.Datacenter == "":
		return NewErrCoded(http.StatusBadRequest, "missing datacenter for registration")
	case n.Status != "" && !ValidNodeStatus(n.Status):
		return NewErrCoded(http.StatusBadRequest, "invalid status %q for node", n.Status)
	}
	return nil
}

// Copy returns a deep copy.
func (n *Node) Copy() *Node {
	if n == nil {
		return nil
	}
	c := *n
	c.Attributes = maps.Clone(n.Attributes)
	c.Meta = maps.Clone(n.Meta)
	return &c
}

// Sanitize returns a copy without the node's secret, for the API.
func (n *Node) Sanitize() *Node {
	c := n.Copy()
	if c != nil {
		c.SecretID = ""
	}
	return c
}

// Stub returns the list form of the node.
func (n *Node) Stub() *NodeListStub {
	return &NodeListStub{
		ID:                n.ID,
		Name:              n.Name,
		Datacenter:        n.Datacenter,
		HTTPAddr:          n.HTTPAddr,
		External:          n.External,
		Status:            n.Status,
		StatusDescription: n.StatusDescription,
		Attributes:        maps.Clone(n.Attributes),
		Meta:              maps.Clone(n.Meta),
		CreateIndex:       n.CreateIndex,
		ModifyIndex:       n.ModifyIndex,
	}
}

// NodeListStub is the node as /v1/nodes lists it.
type NodeListStub struct {
	ID                string
	Name              string
	Datacenter        string
	HTTPAddr          string
	External          bool
	Status            string
	StatusDescription string
	Attributes        map[string]string
	Meta              map[string]string
	CreateIndex       uint64
	ModifyIndex       uint64
}

// NodeRegisterRequest registers (upserts) a node.
type NodeRegisterRequest struct {
	Node *Node
	// UpdatedAt is the unix time the server decided on, so that every
	// replica stores the same value.
	UpdatedAt int64
	WriteRequest
}

// NodeUpdateStatusRequest changes a node's status; clients send it as their
// heartbeat.
type NodeUpdateStatusRequest struct {
	NodeID string
	// SecretID is the node's secret; a heartbeat with the wrong secret is
	// refused so that one node cannot keep another alive.
	SecretID          string
	Status            string
	StatusDescription string
	UpdatedAt         int64
	WriteRequest
}

// NodeDeregisterRequest deletes nodes.
type NodeDeregisterRequest struct {
	NodeIDs []string
	// OnlyDown is garbage collection: only the listed nodes that are
	// still down are deleted, and unknown ones are skipped, so a node
	// that came back after the leader decided is kept.
	OnlyDown bool
	WriteRequest
}

// NodeUpdateResponse answers registrations and heartbeats.
type NodeUpdateResponse struct {
	// HeartbeatTTL is the time within which the node must heartbeat again.
	HeartbeatTTL time.Duration
	// Servers are the RPC addresses of the voters, so that clients learn
	// about servers they were not configured with.
	Servers []string
	// LeaderRPCAddr is the leader the answer came from.
	LeaderRPCAddr string
	WriteMeta
}

// NodeSpecificRequest names one node.
type NodeSpecificRequest struct {
	NodeID string
	QueryOptions
}

// SingleNodeResponse returns one node (nil if there is none).
type SingleNodeResponse struct {
	Node *Node
	QueryMeta
}

// NodeListRequest lists nodes.
type NodeListRequest struct {
	QueryOptions
}

// NodeListResponse is the list of nodes.
type NodeListResponse struct {
	Nodes []*NodeListStub
	QueryMeta
}

// NodeStatusDescriptionExternal describes an external node's status.
const NodeStatusDescriptionExternal = "external node: pushes host metrics with an agent token, never heartbeats"

// NodeStatusDescription is the default description of a status change.
func NodeStatusDescription(status string) string {
	switch status {
	case NodeStatusReady:
		return "node is ready"
	case NodeStatusDown:
		return "node heartbeat missed"
	}
	return fmt.Sprintf("node is %s", status)
}
