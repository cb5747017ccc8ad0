package nomadlike

import (
	"crypto/subtle"
	"net/http"
	"slices"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/fsm"
	"github.com/nomadlike/nomadlike/structs"
)

// authorizeNode lets a node act on its own records with its secret;
// anyone else needs capability c.
func (n *NodeEndpoint) authorizeNode(state *fsm.StateStore, nodeID, secret, token string, c acl.Capability) error {
	if secret != "" {
		node, err := state.NodeByID(nil, nodeID)
		if err != nil {
			return err
		}
		if node == nil {
			return structs.ErrUnknownNode
		}
		if subtle.ConstantTimeCompare([]byte(node.SecretID), []byte(secret)) != 1 {
			return structs.ErrPermissionDenied
		}
		return nil
	}
	return n.srv.authorize(token, c)
}

// GetAssignment returns a node's assignment and its pipelines' contents,
// read from one state snapshot; a blocking query on the assignment, which
// the pipeline scheduler rewrites whenever the pipelines' merged contents
// change. Client agents block on it.
func (n *NodeEndpoint) GetAssignment(args *structs.NodeAssignmentRequest, reply *structs.NodeAssignmentResponse) error {
	if args.AllowStale {
		// A node that just registered through the leader may not be
		// applied here yet: ask the leader rather than tell the node
		// it is unknown (which would make it register again).
		if node, err := n.srv.fsm.State().NodeByID(nil, args.NodeID); err == nil && node == nil {
			args.AllowStale = false
		}
	}
	if done, err := n.srv.forward("Node.GetAssignment", args, args, reply); done {
		return err
	}
	if args.NodeID == "" {
		return structs.NewErrCoded(http.StatusBadRequest, "missing node ID")
	}
	if err := n.authorizeNode(n.srv.fsm.State(), args.NodeID, args.SecretID, args.AuthToken, acl.NodeRead); err != nil {
		return err
	}
	return n.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, state *fsm.StateStore) error {
		node, err := state.NodeByID(ws, args.NodeID)
		if err != nil {
			return err
		}
		if node == nil {
			return structs.ErrUnknownNode
		}
		a, err := state.AssignmentByNode(ws, args.NodeID)
		if err != nil {
			return err
		}
		reply.Assignment, reply.Pipelines, reply.Configs = nil, nil, nil
		if a == nil {
			// Not scheduled yet: an empty assignment at the node's own
			// index, so that the node's next query blocks until the
			// first one is written.
			reply.Assignment = &structs.NodeAssignment{NodeID: args.NodeID}
			reply.Index = node.ModifyIndex
			return nil
		}
		reply.Assignment = a.Copy()
		for _, id := range a.PipelineIDs {
			p, err := state.PipelineByID(nil, id)
			if err != nil {
				return err
			}
			if p != nil {
				reply.Pipelines = append(reply.Pipelines, &structs.AssignedPipeline{
					ID: p.ID, Name: p.Name, Contents: p.Contents, ModifyIndex: p.ModifyIndex,
				})
			}
		}
		// The node's own applied reports move a.ModifyIndex, not
		// WatchIndex: they wake this query here, which then blocks again
		// instead of answering the node with what it has.
		reply.Index = max(a.WatchIndex(), node.ModifyIndex)
		// A config's contents can change without its assignment
		// changing: watch each one. Contents (secrets in clear) go to
		// the node itself only.
		for _, name := range a.Configs {
			if args.SecretID == "" {
				break
			}
			c, err := state.ConfigByName(ws, name)
			if err != nil {
				return err
			}
			if c != nil {
				reply.Configs = append(reply.Configs, &structs.AssignedConfig{
					Name: c.Name, Kind: structs.NormalizeConfigKind(c.Kind), Contents: c.Contents, ModifyIndex: c.ModifyIndex,
				})
				reply.Index = max(reply.Index, c.ModifyIndex)
			}
		}
		return nil
	})
}

// UpdateAssignmentApplied records what a node applied; it writes through
// raft only when the report differs from the one stored.
func (n *NodeEndpoint) UpdateAssignmentApplied(args *structs.NodeAssignmentAppliedRequest, reply *structs.GenericResponse) error {
	if done, err := n.srv.forward("Node.UpdateAssignmentApplied", args, args, reply); done {
		return err
	}
	if args.NodeID == "" {
		return structs.NewErrCoded(http.StatusBadRequest, "missing node ID")
	}
	state := n.srv.fsm.State()
	if err := n.authorizeNode(state, args.NodeID, args.SecretID, args.AuthToken, acl.NodeWrite); err != nil {
		return err
	}
	cur, err := state.AssignmentByNode(nil, args.NodeID)
	if err != nil {
		return err
	}
	if cur != nil && cur.AppliedHash == args.Hash && cur.AppliedError == args.Error &&
		slices.EqualFunc(cur.Instances, args.Instances, (*structs.MetricsInstanceStatus).Equal) {
		reply.Index = cur.ModifyIndex
		return nil
	}
	args.SecretID = ""
	args.AppliedAt = time.Now().UTC()
	index, err := n.srv.applyReport(args)
	if err != nil {
		return err
	}
	reply.Index = index
	return nil
}
