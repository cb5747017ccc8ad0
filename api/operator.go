package api

import "net/url"

// Operator is the handle on the /v1/operator endpoints.
type Operator struct {
	client *Client
}

// Operator returns the handle on the /v1/operator endpoints.
func (c *Client) Operator() *Operator { return &Operator{client: c} }

// RaftConfiguration is the Raft configuration as the server sees it.
type RaftConfiguration struct {
	// Servers are the members of the Raft quorum.
	Servers []*RaftServer
	// Index is the Raft index of this configuration.
	Index uint64
}

// RaftServer is one member of the Raft quorum.
type RaftServer struct {
	// ID is the Raft server ID.
	ID string
	// Node is the server's node name.
	Node string
	// Address is the Raft (RPC) address, such as "127.0.0.1:4647".
	Address string
	// Leader is whether this server is the leader.
	Leader bool
	// Voter is whether this server votes.
	Voter bool
	// RaftProtocol is the Raft protocol version, such as "3".
	RaftProtocol string
}

// RaftGetConfiguration returns the Raft configuration
// (GET /v1/operator/raft/configuration).
func (op *Operator) RaftGetConfiguration(q *QueryOptions) (*RaftConfiguration, error) {
	var out RaftConfiguration
	if _, err := op.client.query("/v1/operator/raft/configuration", &out, q); err != nil {
		return nil, err
	}
	if out.Servers == nil {
		out.Servers = []*RaftServer{}
	}
	return &out, nil
}

// RaftRemovePeerByID removes the server with Raft ID id from the quorum
// (DELETE /v1/operator/raft/peer?id=ID).
func (op *Operator) RaftRemovePeerByID(id string, q *WriteOptions) error {
	v := url.Values{}
	v.Set("id", id)
	_, err := op.client.delete("/v1/operator/raft/peer?"+v.Encode(), nil, nil, q)
	return err
}
