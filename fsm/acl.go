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
		f.logger.Debug("acl policy upsert refused", "error", err)
		return err
	}
	return nil
}

func (f *FSM) applyACLPolicyDelete(buf []byte, index uint64) any {
	var req structs.ACLPolicyDeleteRequest
	decode(buf, &req, index)
	if err := f.State().DeleteACLPolicies(index, req.Names); err != nil {
		f.logger.Debug("acl policy delete refused", "error", err)
		return err
	}
	return nil
}

// ACLTokenApplyResult names the tokens a token upsert or bootstrap
// stored. The endpoint reads them back by these IDs rather than by the
// ones it picked, because a repeated request gets the first apply's
// answer, whose IDs are the stored ones.
type ACLTokenApplyResult struct {
	AccessorIDs []string
}

func tokenResult(tokens ...*structs.ACLToken) *ACLTokenApplyResult {
	res := &ACLTokenApplyResult{}
	for _, t := range tokens {
		res.AccessorIDs = append(res.AccessorIDs, t.AccessorID)
	}
	return res
}

func (f *FSM) applyACLTokenUpsert(buf []byte, index uint64) any {
	var req structs.ACLTokenUpsertRequest
	decode(buf, &req, index)
	if err := f.State().UpsertACLTokens(index, req.Tokens); err != nil {
		// Never log the request: it carries secrets.
		f.logger.Debug("acl token upsert refused", "error", err)
		return err
	}
	return tokenResult(req.Tokens...)
}

func (f *FSM) applyACLTokenDelete(buf []byte, index uint64) any {
	var req structs.ACLTokenDeleteRequest
	decode(buf, &req, index)
	if err := f.State().DeleteACLTokens(index, req.AccessorIDs); err != nil {
		f.logger.Debug("acl token delete refused", "error", err)
		return err
	}
	return nil
}

func (f *FSM) applyACLTokenBootstrap(buf []byte, index uint64) any {
	var req structs.ACLTokenBootstrapRequest
	decode(buf, &req, index)
	if err := f.State().BootstrapACLTokens(index, req.ResetIndex, req.Token); err != nil {
		f.logger.Debug("acl bootstrap refused", "error", err)
		return err
	}
	return tokenResult(req.Token)
}
