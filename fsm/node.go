package fsm

import "github.com/nomadlike/nomadlike/structs"

func init() {
	register(structs.NodeRegisterRequestType, (*FSM).applyNodeRegister)
	register(structs.NodeUpdateStatusRequestType, (*FSM).applyNodeUpdateStatus)
	register(structs.NodeDeregisterRequestType, (*FSM).applyNodeDeregister)
	register(structs.NodeTokenCreateRequestType, (*FSM).applyNodeTokenCreate)
}

// NodeTokenApplyResult is the node an agent token was minted for and the
// token itself. The endpoint answers with it rather than with the IDs it
// picked: a repeated request gets the first apply's answer, and a
// rotation keeps the node's ID.
type NodeTokenApplyResult struct {
	NodeID   string
	Name     string
	SecretID string
}

func (f *FSM) applyNodeTokenCreate(buf []byte, index uint64) any {
	var req structs.NodeTokenCreateRequest
	decode(buf, &req, index)
	node, err := f.State().CreateNodeToken(index, &req)
	if err != nil {
		// Never log the request: it carries the secret.
		f.logger.Debug("node token create refused", "name", req.Name, "error", err)
		return err
	}
	return &NodeTokenApplyResult{NodeID: node.ID, Name: node.Name, SecretID: node.SecretID}
}

func (f *FSM) applyNodeRegister(buf []byte, index uint64) any {
	var req structs.NodeRegisterRequest
	decode(buf, &req, index)
	if err := f.State().UpsertNode(index, req.Node, req.UpdatedAt); err != nil {
		f.logger.Error("node register failed", "node_id", req.Node.ID, "error", err)
		return err
	}
	return nil
}

func (f *FSM) applyNodeUpdateStatus(buf []byte, index uint64) any {
	var req structs.NodeUpdateStatusRequest
	decode(buf, &req, index)
	if err := f.State().UpdateNodeStatus(index, &req); err != nil {
		f.logger.Error("node status update failed", "node_id", req.NodeID, "error", err)
		return err
	}
	return nil
}

func (f *FSM) applyNodeDeregister(buf []byte, index uint64) any {
	var req structs.NodeDeregisterRequest
	decode(buf, &req, index)
	del := f.State().DeleteNodes
	if req.OnlyDown {
		del = f.State().DeleteDownNodes
	}
	if err := del(index, req.NodeIDs); err != nil {
		f.logger.Error("node deregister failed", "node_ids", req.NodeIDs, "error", err)
		return err
	}
	return nil
}
