package nomadlike

import (
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/fsm"
	"github.com/nomadlike/nomadlike/structs"
)

// NodeEndpoint handles client node registration, heartbeats and reads.
type NodeEndpoint struct {
	srv *Server
}

// Register upserts a node and arms its heartbeat timer.
func (n *NodeEndpoint) Register(args *structs.NodeRegisterRequest, reply *structs.NodeUpdateResponse) error {
	if done, err := n.srv.forward("Node.Register", args, args, reply); done {
		return err
	}
	if err := n.srv.authorize(args.AuthToken, acl.NodeWrite); err != nil {
		return err
	}
	if err := args.Node.Validate(); err != nil {
		return err
	}
	if args.Node.SecretID == "" {
		return structs.NewErrCoded(http.StatusBadRequest, "missing node secret for registration")
	}
	existing, err := n.srv.fsm.State().NodeByID(nil, args.Node.ID)
	if err != nil {
		return err
	}
	// A node ID belongs to whoever registered it first: another agent
	// presenting the same ID with a different secret is refused.
	if existing != nil && subtle.ConstantTimeCompare([]byte(existing.SecretID), []byte(args.Node.SecretID)) != 1 {
		return structs.ErrPermissionDenied
	}
	if args.Node.Status == "" || args.Node.Status == structs.NodeStatusInit {
		args.Node.Status = structs.NodeStatusReady
	}
	args.Node.StatusDescription = structs.NodeStatusDescription(args.Node.Status)
	args.UpdatedAt = time.Now().Unix()
	_, index, err := n.srv.raftApply(structs.NodeRegisterRequestType, args)
	if err != nil {
		return err
	}
	return n.heartbeatReply(args.Node.ID, args.Node.Status, index, reply)
}

// UpdateStatus is a client's heartbeat: it re-arms the TTL timer and
// writes through raft only when the status changes.
func (n *NodeEndpoint) UpdateStatus(args *structs.NodeUpdateStatusRequest, reply *structs.NodeUpdateResponse) error {
	if done, err := n.srv.forward("Node.UpdateStatus", args, args, reply); done {
		return err
	}
	if err := n.srv.authorize(args.AuthToken, acl.NodeWrite); err != nil {
		return err
	}
	if args.NodeID == "" {
		return structs.NewErrCoded(http.StatusBadRequest, "missing node ID")
	}
	if !structs.ValidNodeStatus(args.Status) {
		return structs.NewErrCoded(http.StatusBadRequest, "invalid status %q for node", args.Status)
	}
	node, err := n.srv.fsm.State().NodeByID(nil, args.NodeID)
	if err != nil {
		return err
	}
	if node == nil {
		return structs.ErrUnknownNode
	}
	if subtle.ConstantTimeCompare([]byte(node.SecretID), []byte(args.SecretID)) != 1 {
		return structs.ErrPermissionDenied
	}
	index := node.ModifyIndex
	if node.Status != args.Status {
		args.UpdatedAt = time.Now().Unix()
		if args.StatusDescription == "" {
			args.StatusDescription = structs.NodeStatusDescription(args.Status)
		}
		if _, index, err = n.srv.raftApply(structs.NodeUpdateStatusRequestType, args); err != nil {
			return err
		}
	}
	return n.heartbeatReply(args.NodeID, args.Status, index, reply)
}

func (n *NodeEndpoint) heartbeatReply(nodeID, status string, index uint64, reply *structs.NodeUpdateResponse) error {
	if status == structs.NodeStatusDown {
		n.srv.heartbeats.clear(nodeID)
	} else {
		reply.HeartbeatTTL = n.srv.heartbeats.reset(nodeID)
	}
	var peers []string
	if err := (&Status{srv: n.srv}).Peers(nil, &peers); err == nil {
		reply.Servers = peers
	}
	reply.LeaderRPCAddr = n.srv.RPCAddr()
	reply.Index = index
	return nil
}

// Deregister removes nodes.
func (n *NodeEndpoint) Deregister(args *structs.NodeDeregisterRequest, reply *structs.GenericResponse) error {
	if done, err := n.srv.forward("Node.Deregister", args, args, reply); done {
		return err
	}
	if err := n.srv.authorize(args.AuthToken, acl.NodeWrite); err != nil {
		return err
	}
	if len(args.NodeIDs) == 0 {
		return structs.NewErrCoded(http.StatusBadRequest, "missing node IDs for deregistration")
	}
	_, index, err := n.srv.raftApply(structs.NodeDeregisterRequestType, args)
	if err != nil {
		return err
	}
	for _, id := range args.NodeIDs {
		n.srv.heartbeats.clear(id)
	}
	reply.Index = index
	return nil
}

// GetNode returns one node (without its secret); a blocking query.
func (n *NodeEndpoint) GetNode(args *structs.NodeSpecificRequest, reply *structs.SingleNodeResponse) error {
	if done, err := n.srv.forward("Node.GetNode", args, args, reply); done {
		return err
	}
	if err := n.srv.authorize(args.AuthToken, acl.NodeRead); err != nil {
		return err
	}
	return n.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, state *fsm.StateStore) error {
		node, err := state.NodeByID(ws, args.NodeID)
		if err != nil {
			return err
		}
		if node != nil {
			reply.Node = node.Sanitize()
			reply.Index = node.ModifyIndex
			return nil
		}
		reply.Node = nil
		reply.Index, err = state.Index("nodes")
		return err
	})
}

// List returns node stubs, optionally by ID prefix; a blocking query.
func (n *NodeEndpoint) List(args *structs.NodeListRequest, reply *structs.NodeListResponse) error {
	if done, err := n.srv.forward("Node.List", args, args, reply); done {
		return err
	}
	if err := n.srv.authorize(args.AuthToken, acl.NodeRead); err != nil {
		return err
	}
	return n.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, state *fsm.StateStore) error {
		nodes, err := state.Nodes(ws, strings.ToLower(args.Prefix))
		if err != nil {
			return err
		}
		reply.Nodes = make([]*structs.NodeListStub, 0, len(nodes))
		for _, node := range nodes {
			reply.Nodes = append(reply.Nodes, node.Stub())
		}
		reply.Index, err = state.Index("nodes")
		return err
	})
}
