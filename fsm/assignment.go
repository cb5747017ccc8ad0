package fsm

import "github.com/nomadlike/nomadlike/structs"

func init() {
	register(structs.NodeAssignmentUpsertRequestType, (*FSM).applyAssignmentUpsert)
	register(structs.NodeAssignmentAppliedRequestType, (*FSM).applyAssignmentApplied)
	register(structs.NodeAssignmentAppliedBatchRequestType, (*FSM).applyAssignmentAppliedBatch)
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

// applyAssignmentAppliedBatch answers with each report's error (nil, or
// ErrUnknownNode for a node that is gone), in the reports' order.
func (f *FSM) applyAssignmentAppliedBatch(buf []byte, index uint64) any {
	var req structs.NodeAssignmentAppliedBatchRequest
	decode(buf, &req, index)
	errs, err := f.State().UpdateAssignmentAppliedBatch(index, req.Reports)
	if err != nil {
		f.logger.Error("assignment applied batch failed", "reports", len(req.Reports), "error", err)
		return err
	}
	for i, err := range errs {
		if err != nil {
			f.logger.Error("assignment applied update failed", "node_id", req.Reports[i].NodeID, "error", err)
		}
	}
	return errs
}
