package fsm

import "github.com/nomadlike/nomadlike/structs"

func init() {
	register(structs.NodeAssignmentUpsertRequestType, (*FSM).applyAssignmentUpsert)
	register(structs.NodeAssignmentAppliedRequestType, (*FSM).applyAssignmentApplied)
}

func (f *FSM) applyAssignmentUpsert(buf []byte, index uint64) any {
	var req structs.NodeAssignmentUpsertRequest
	decode(buf, &req, index)
	if err := f.State().UpsertAssignments(index, &req); err != nil {
		f.logger.Error("assignment upsert failed", "eval_id", req.EvalID, "error", err)
		return err
	}
	return nil
}

func (f *FSM) applyAssignmentApplied(buf []byte, index uint64) any {
	var req structs.NodeAssignmentAppliedRequest
	decode(buf, &req, index)
	if err := f.State().UpdateAssignmentApplied(index, &req); err != nil {
		f.logger.Error("assignment applied update failed", "node_id", req.NodeID, "error", err)
		return err
	}
	return nil
}
