package nomadlike

import (
	"fmt"
	"net/http"
	"time"

	"github.com/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/fsm"
	"github.com/nomadlike/nomadlike/structs"
)

// CreateToken mints an agent token bound to a node name, for a host that
// pushes host metrics without a nomadlike client: the node is created as
// an external node, or, if an external node of that name exists, given
// the new secret (its old token stops working). A client node's name is
// refused (409). The node ID and secret come with the request, picked
// once by the HTTP edge, so a resent request mints one token, not two;
// the FSM decides create or rotate (see fsm.StateStore.CreateNodeToken).
func (n *NodeEndpoint) CreateToken(args *structs.NodeTokenCreateRequest, reply *structs.NodeTokenCreateResponse) error {
	if args.Datacenter == "" {
		// The server that took the request: decided before forwarding, so
		// every retry carries the same value.
		args.Datacenter = n.srv.config.Datacenter
	}
	if done, err := n.srv.forward("Node.CreateToken", args, args, reply); done {
		return err
	}
	if err := n.srv.authorize(args.AuthToken, acl.NodeWrite); err != nil {
		return err
	}
	// The same rule as a client's registration.
	node := &structs.Node{ID: args.NodeID, Name: args.Name, Datacenter: args.Datacenter}
	if err := node.Validate(); err != nil {
		return err
	}
	if args.SecretID == "" {
		return structs.NewErrCoded(http.StatusBadRequest, "missing node secret for registration")
	}
	args.UpdatedAt = time.Now().Unix()
	resp, index, err := n.srv.raftApply(structs.NodeTokenCreateRequestType, args)
	if err != nil {
		return err
	}
	res, ok := resp.(*fsm.NodeTokenApplyResult)
	if !ok {
		return fmt.Errorf("node token create: unexpected apply result %T", resp)
	}
	reply.NodeID, reply.Name, reply.SecretID = res.NodeID, res.Name, res.SecretID
	reply.Index = index
	return nil
}
