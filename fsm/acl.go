package fsm

import "github.com/nomadlike/nomadlike/structs"

func init() {
	register(structs.ACLPolicyUpsertRequestType, (*FSM).applyACLPolicyUpsert)
	register(structs.ACLPolicyDeleteRequestType, (*FSM).applyACLPolicyDelete)
	register(structs.ACLTokenUpsertRequestType, (*FSM).applyACLTokenUpsert)
	register(structs.ACLTokenDeleteRequestType, (*FSM).applyACLTokenDelete)
	register(structs.ACLTokenBootstrapRequestType, (*FSM).applyACLTokenBootstrap)
}

func (f *FSM) applyACLPolicyUpsert(buf []byte, index uint64) any {
	var req structs.ACLPolicyUpsertRequest
	decode(buf, &req, index)
	if err := f.State().UpsertACLPolicies(index, req.Policies); err != nil {
		f.logger.Error("acl policy upsert failed", "error", err)
		return err
	}
	return nil
}

func (f *FSM) applyACLPolicyDelete(buf []byte, index uint64) any {
	var req structs.ACLPolicyDeleteRequest
	decode(buf, &req, index)
	if err := f.State().DeleteACLPolicies(index, req.Names); err != nil {
		f.logger.Error("acl policy delete failed", "error", err)
		return err
	}
	return nil
}

func (f *FSM) applyACLTokenUpsert(buf []byte, index uint64) any {
	var req structs.ACLTokenUpsertRequest
	decode(buf, &req, index)
	if err := f.State().UpsertACLTokens(index, req.Tokens); err != nil {
		// Never log the request: it carries secrets.
		f.logger.Error("acl token upsert failed", "error", err)
		return err
	}
	return nil
}

func (f *FSM) applyACLTokenDelete(buf []byte, index uint64) any {
	var req structs.ACLTokenDeleteRequest
	decode(buf, &req, index)
	if err := f.State().DeleteACLTokens(index, req.AccessorIDs); err != nil {
		f.logger.Error("acl token delete failed", "error", err)
		return err
	}
	return nil
}

func (f *FSM) applyACLTokenBootstrap(buf []byte, index uint64) any {
	var req structs.ACLTokenBootstrapRequest
	decode(buf, &req, index)
	if err := f.State().BootstrapACLTokens(index, req.ResetIndex, req.Token); err != nil {
		f.logger.Info("acl bootstrap refused", "error", err)
		return err
	}
	return nil
}
