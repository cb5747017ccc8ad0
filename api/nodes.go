package api

import (
	"errors"
	"net/url"
)

// Node status values.
const (
	// NodeStatusInit is the status of a node that has registered but not
	// yet heartbeated.
	NodeStatusInit = "initializing"
	// NodeStatusReady is the status of a node that heartbeats in time.
	NodeStatusReady = "ready"
	// NodeStatusDown is the status of a node that missed its heartbeat TTL.
	NodeStatusDown = "down"
)

// Nodes is the handle on the /v1/nodes and /v1/node endpoints.
type Nodes struct {
	client *Client
}

// Nodes returns the handle on the node endpoints.
func (c *Client) Nodes() *Nodes { return &Nodes{client: c} }

// NodeListStub is the short form of a node returned by List.
type NodeListStub struct {
	// ID is the node's UUID.
	ID string
	// Name is the node's name, usually its hostname.
	Name string
	// Datacenter is the node's datacenter.
	Datacenter string
	// Status is "initializing", "ready" or "down".
	Status string
	// StatusDescription says why the node has its status.
	StatusDescription string
	// HTTPAddr is the node agent's HTTP address.
	HTTPAddr string
	// External is set on a node registered by an agent token.
	External bool
	// Attributes are the fingerprinted attributes, such as "collector.os".
	Attributes map[string]string
	// Meta is the user-defined metadata.
	Meta map[string]string
	// CreateIndex is the Raft index that created the node.
	CreateIndex uint64
	// ModifyIndex is the Raft index that last changed the node.
	ModifyIndex uint64
}

// Node is a registered client node.
type Node struct {
	// ID is the node's UUID.
	ID string
	// Name is the node's name, usually its hostname.
	Name string
	// Datacenter is the node's datacenter.
	Datacenter string
	// HTTPAddr is the node agent's HTTP address.
	HTTPAddr string
	// External is set on a node registered by an agent token
	// (Nodes.CreateToken) rather than by a nomadlike client: it never
	// heartbeats and stays "ready".
	External bool
	// Status is "initializing", "ready" or "down".
	Status string
	// StatusDescription says why the node has its status.
	StatusDescription string
	// StatusUpdatedAt is when the status last changed, in Unix seconds.
	StatusUpdatedAt int64
	// Attributes are the fingerprinted attributes, such as "collector.os".
	Attributes map[string]string
	// Meta is the user-defined metadata.
	Meta map[string]string
	// CreateIndex is the Raft index that created the node.
	CreateIndex uint64
	// ModifyIndex is the Raft index that last changed the node.
	ModifyIndex uint64
}

// List returns the registered nodes (GET /v1/nodes). q.Prefix filters by
// ID prefix. An empty result is an empty slice, never nil.
func (n *Nodes) List(q *QueryOptions) ([]*NodeListStub, *QueryMeta, error) {
	var out []*NodeListStub
	qm, err := n.client.query("/v1/nodes", &out, q)
	if err != nil {
		return nil, nil, err
	}
	if out == nil {
		out = []*NodeListStub{}
	}
	return out, qm, nil
}

// PrefixList returns the nodes whose ID starts with prefix
// (GET /v1/nodes?prefix=...).
func (n *Nodes) PrefixList(prefix string) ([]*NodeListStub, *QueryMeta, error) {
	return n.List(&QueryOptions{Prefix: prefix})
}

// Info returns the node with the full ID nodeID (GET /v1/node/{id}).
func (n *Nodes) Info(nodeID string, q *QueryOptions) (*Node, *QueryMeta, error) {
	if nodeID == "" {
		return nil, nil, errors.New("node ID must not be empty")
	}
	var out Node
	qm, err := n.client.query("/v1/node/"+url.PathEscape(nodeID), &out, q)
	if err != nil {
		return nil, nil, err
	}
	return &out, qm, nil
}

// NodeAssignment is what the scheduler assigned a node and what the node
// reports it applied (GET /v1/node/{id}/assignment).
type NodeAssignment struct {
	NodeID string
	// PipelineIDs are the matching enabled pipelines in merge order.
	PipelineIDs []string
	Pipelines   []*AssignedPipeline
	// Configs are the agent instance configs the node runs.
	Configs []string
	// Hash identifies the assigned pipelines' merged contents; Content
	// is that text as it is now and ContentHash its hash.
	Hash        string
	Content     string
	ContentHash string
	// AppliedHash is what the node last wrote, AppliedError why its
	// last attempt failed; Applied is AppliedHash == Hash without error.
	AppliedHash  string
	AppliedError string
	AppliedAt    string
	Applied      bool
	// Instances are the metrics instances the node reports running.
	Instances   []*NodeMetricsInstance
	CreateIndex uint64
	ModifyIndex uint64
}

// NodeMetricsInstance is a metrics instance in a node's assignment (the
// /v1 API's field names).
type NodeMetricsInstance struct {
	Name           string
	Source         string
	State          string
	Error          string
	TargetsUp      int
	TargetsDown    int
	TargetsUnknown int
	LastError      string
}

// AssignedPipeline is one pipeline of an assignment.
type AssignedPipeline struct {
	ID          string
	Name        string
	Contents    string
	ModifyIndex uint64
}

// Assignment returns a node's assignment; with q.WaitIndex it blocks until
// it changes.
func (n *Nodes) Assignment(nodeID string, q *QueryOptions) (*NodeAssignment, *QueryMeta, error) {
	if nodeID == "" {
		return nil, nil, errors.New("node ID must not be empty")
	}
	var out NodeAssignment
	qm, err := n.client.query("/v1/node/"+url.PathEscape(nodeID)+"/assignment", &out, q)
	if err != nil {
		return nil, nil, err
	}
	return &out, qm, nil
}
