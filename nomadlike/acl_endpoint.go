package nomadlike

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/fsm"
	"github.com/nomadlike/nomadlike/structs"
)

// ACLEndpoint manages ACL policies and tokens.
type ACLEndpoint struct {
	srv *Server
}

// aclResetFile is where an operator writes the index of a lost bootstrap
// to allow another, as Nomad's acl-bootstrap-reset.
const aclResetFile = "acl-bootstrap-reset"

// requireManagement fails unless secret is a management token.
func (a *ACLEndpoint) requireManagement(secret string) error {
	if !a.srv.config.ACLEnabled {
		return structs.ErrACLDisabled
	}
	resolved, _, err := a.srv.ResolveToken(secret)
	if err != nil {
		return err
	}
	if !resolved.IsManagement() {
		return structs.ErrPermissionDenied
	}
	return nil
}

// Bootstrap mints the first management token, once per cluster (or again
// after a reset file names the current bootstrap index).
func (a *ACLEndpoint) Bootstrap(args *structs.ACLTokenBootstrapRequest, reply *structs.ACLTokenUpsertResponse) error {
	if done, err := a.srv.forward("ACL.Bootstrap", args, args, reply); done {
		return err
	}
	if !a.srv.config.ACLEnabled {
		return structs.ErrACLDisabled
	}
	ok, done, err := a.srv.fsm.State().CanBootstrapACLToken()
	if err != nil {
		return err
	}
	args.ResetIndex = 0
	if !ok {
		path := filepath.Join(a.srv.config.DataDir, "server", aclResetFile)
		if buf, err := os.ReadFile(path); err == nil {
			if v, err := strconv.ParseUint(strings.TrimSpace(string(buf)), 10, 64); err == nil && v == done {
				a.srv.logger.Warn("ACL bootstrap reset file honoured", "reset_index", v)
				args.ResetIndex = v
			}
		}
		if args.ResetIndex == 0 {
			return structs.NewErrCoded(http.StatusBadRequest, "ACL bootstrap already done (reset index: %d)", done)
		}
	}
	secret := args.BootstrapSecret
	if secret == "" {
		secret = uuid.NewString()
	} else if _, err := uuid.Parse(secret); err != nil {
		return structs.ErrTokenInvalid
	}
	args.BootstrapSecret = ""
	args.Token = &structs.ACLToken{
		AccessorID: uuid.NewString(),
		SecretID:   secret,
		Name:       "Bootstrap Token",
		Type:       structs.ACLManagementToken,
		Global:     true,
		CreateTime: time.Now().UTC(),
	}
	resp, index, err := a.srv.raftApply(structs.ACLTokenBootstrapRequestType, args)
	if err != nil {
		return err
	}
	reply.Index = index
	return a.storedTokens(resp, reply)
}

// UpsertPolicies creates or replaces policies (management only).
func (a *ACLEndpoint) UpsertPolicies(args *structs.ACLPolicyUpsertRequest, reply *structs.GenericResponse) error {
	if done, err := a.srv.forward("ACL.UpsertPolicies", args, args, reply); done {
		return err
	}
	if err := a.requireManagement(args.AuthToken); err != nil {
		return err
	}
	if len(args.Policies) == 0 {
		return structs.NewErrCoded(http.StatusBadRequest, "must specify at least one policy")
	}
	for _, p := range args.Policies {
		if err := p.Validate(); err != nil {
			return err
		}
		if _, err := acl.Parse(p.Rules); err != nil {
			return structs.NewErrCoded(http.StatusBadRequest, "policy %q: %s", p.Name, err.Error())
		}
		p.SetHash()
	}
	_, index, err := a.srv.raftApply(structs.ACLPolicyUpsertRequestType, args)
	reply.Index = index
	return err
}

// DeletePolicies deletes policies (management only).
func (a *ACLEndpoint) DeletePolicies(args *structs.ACLPolicyDeleteRequest, reply *structs.GenericResponse) error {
	if done, err := a.srv.forward("ACL.DeletePolicies", args, args, reply); done {
		return err
	}
	if err := a.requireManagement(args.AuthToken); err != nil {
		return err
	}
	if len(args.Names) == 0 {
		return structs.NewErrCoded(http.StatusBadRequest, "must specify at least one policy")
	}
	// Refusals the leader can see now cost no log entry (the FSM checks
	// again, since a write may come in between).
	state := a.srv.fsm.State()
	for _, name := range args.Names {
		if p, err := state.ACLPolicyByName(nil, name); err != nil {
			return err
		} else if p == nil {
			return structs.NewErrCoded(http.StatusNotFound, "ACL policy %q not found", name)
		}
	}
	_, index, err := a.srv.raftApply(structs.ACLPolicyDeleteRequestType, args)
	reply.Index = index
	return err
}

// visiblePolicies is the set of policy names a non-management caller may
// read: those of its own token.
func (a *ACLEndpoint) callerPolicies(secret string) (mgmt bool, names []string, err error) {
	if !a.srv.config.ACLEnabled {
		return false, nil, structs.ErrACLDisabled
	}
	resolved, token, err := a.srv.ResolveToken(secret)
	if err != nil {
		return false, nil, err
	}
	return resolved.IsManagement(), token.Policies, nil
}

// ListPolicies lists every policy for management tokens, and a token's own
// policies for anyone else.
func (a *ACLEndpoint) ListPolicies(args *structs.GenericRequest, reply *structs.ACLPolicyListResponse) error {
	if done, err := a.srv.forward("ACL.ListPolicies", args, args, reply); done {
		return err
	}
	mgmt, names, err := a.callerPolicies(args.AuthToken)
	if err != nil {
		return err
	}
	return a.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, state *fsm.StateStore) error {
		policies, err := state.ACLPolicies(ws)
		if err != nil {
			return err
		}
		reply.Policies = []*structs.ACLPolicyListStub{}
		for _, p := range policies {
			if mgmt || slices.Contains(names, p.Name) {
				reply.Policies = append(reply.Policies, p.Stub())
			}
		}
		reply.Index, err = state.Index("acl_policy")
		return err
	})
}

// GetPolicy returns one policy to management tokens or to tokens that
// carry it.
func (a *ACLEndpoint) GetPolicy(args *structs.ACLPolicySpecificRequest, reply *structs.SingleACLPolicyResponse) error {
	if done, err := a.srv.forward("ACL.GetPolicy", args, args, reply); done {
		return err
	}
	mgmt, names, err := a.callerPolicies(args.AuthToken)
	if err != nil {
		return err
	}
	if !mgmt && !slices.Contains(names, args.Name) {
		return structs.ErrPermissionDenied
	}
	return a.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, state *fsm.StateStore) error {
		p, err := state.ACLPolicyByName(ws, args.Name)
		if err != nil {
			return err
		}
		reply.Policy = p
		if p != nil {
			reply.Index = p.ModifyIndex
			return nil
		}
		reply.Index, err = state.Index("acl_policy")
		return err
	})
}

// UpsertTokens creates tokens (no AccessorID) or updates them (management
// only). The server picks IDs, secrets and times.
func (a *ACLEndpoint) UpsertTokens(args *structs.ACLTokenUpsertRequest, reply *structs.ACLTokenUpsertResponse) error {
	if done, err := a.srv.forward("ACL.UpsertTokens", args, args, reply); done {
		return err
	}
	if err := a.requireManagement(args.AuthToken); err != nil {
		return err
	}
	if len(args.Tokens) == 0 {
		return structs.NewErrCoded(http.StatusBadRequest, "must specify at least one token")
	}
	state := a.srv.fsm.State()
	now := time.Now().UTC()
	for _, t := range args.Tokens {
		if err := validateToken(t); err != nil {
			return err
		}
		if t.AccessorID == "" {
			t.AccessorID, t.SecretID, t.CreateTime = uuid.NewString(), uuid.NewString(), now
			if t.ExpirationTTL > 0 {
				exp := now.Add(t.ExpirationTTL)
				t.ExpirationTime = &exp
			}
			continue
		}
		existing, err := state.ACLTokenByAccessorID(nil, t.AccessorID)
		if err != nil {
			return err
		}
		if existing == nil {
			return structs.NewErrCoded(http.StatusNotFound, "ACL token %q not found", t.AccessorID)
		}
		if existing.Type != t.Type {
			return structs.NewErrCoded(http.StatusBadRequest, "cannot change a token's type")
		}
		// Secrets, creation and expiry are fixed at creation.
		t.SecretID, t.CreateTime, t.ExpirationTime, t.ExpirationTTL =
			existing.SecretID, existing.CreateTime, existing.ExpirationTime, existing.ExpirationTTL
	}
	resp, index, err := a.srv.raftApply(structs.ACLTokenUpsertRequestType, args)
	if err != nil {
		return err
	}
	reply.Index = index
	return a.storedTokens(resp, reply)
}

// storedTokens answers with the tokens the FSM says it stored: those of
// this request, or of its first apply when it was a repeat.
func (a *ACLEndpoint) storedTokens(resp any, reply *structs.ACLTokenUpsertResponse) error {
	res, ok := resp.(*fsm.ACLTokenApplyResult)
	if !ok {
		return fmt.Errorf("acl token apply answered %T", resp)
	}
	state := a.srv.fsm.State()
	for _, id := range res.AccessorIDs {
		stored, err := state.ACLTokenByAccessorID(nil, id)
		if err != nil {
			return err
		}
		if stored == nil {
			// Deleted since; the write itself succeeded.
			continue
		}
		reply.Tokens = append(reply.Tokens, stored)
	}
	return nil
}

func validateToken(t *structs.ACLToken) error {
	switch t.Type {
	case structs.ACLClientToken:
		if len(t.Policies) == 0 {
			return structs.NewErrCoded(http.StatusBadRequest, "client token missing policies")
		}
	case structs.ACLManagementToken:
		if len(t.Policies) != 0 {
			return structs.NewErrCoded(http.StatusBadRequest, "management token cannot be associated with policies")
		}
	default:
		return structs.NewErrCoded(http.StatusBadRequest, "token type must be client or management")
	}
	if len(t.Name) > 256 {
		return structs.NewErrCoded(http.StatusBadRequest, "token name longer than 256 characters")
	}
	if t.ExpirationTTL < 0 {
		return structs.NewErrCoded(http.StatusBadRequest, "token expiration TTL must be positive")
	}
	return nil
}

// DeleteTokens deletes tokens (management only).
func (a *ACLEndpoint) DeleteTokens(args *structs.ACLTokenDeleteRequest, reply *structs.GenericResponse) error {
	if done, err := a.srv.forward("ACL.DeleteTokens", args, args, reply); done {
		return err
	}
	if err := a.requireManagement(args.AuthToken); err != nil {
		return err
	}
	if len(args.AccessorIDs) == 0 {
		return structs.NewErrCoded(http.StatusBadRequest, "must specify at least one token")
	}
	state := a.srv.fsm.State()
	for _, id := range args.AccessorIDs {
		if t, err := state.ACLTokenByAccessorID(nil, id); err != nil {
			return err
		} else if t == nil {
			return structs.NewErrCoded(http.StatusNotFound, "ACL token %q not found", id)
		}
	}
	_, index, err := a.srv.raftApply(structs.ACLTokenDeleteRequestType, args)
	reply.Index = index
	return err
}

// ListTokens lists tokens without secrets (management only).
func (a *ACLEndpoint) ListTokens(args *structs.GenericRequest, reply *structs.ACLTokenListResponse) error {
	if done, err := a.srv.forward("ACL.ListTokens", args, args, reply); done {
		return err
	}
	if err := a.requireManagement(args.AuthToken); err != nil {
		return err
	}
	return a.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, state *fsm.StateStore) error {
		tokens, err := state.ACLTokens(ws)
		if err != nil {
			return err
		}
		reply.Tokens = []*structs.ACLTokenListStub{}
		for _, t := range tokens {
			reply.Tokens = append(reply.Tokens, t.Stub())
		}
		reply.Index, err = state.Index("acl_token")
		return err
	})
}

// GetToken returns a token to management tokens, or to itself.
func (a *ACLEndpoint) GetToken(args *structs.ACLTokenSpecificRequest, reply *structs.SingleACLTokenResponse) error {
	if done, err := a.srv.forward("ACL.GetToken", args, args, reply); done {
		return err
	}
	if !a.srv.config.ACLEnabled {
		return structs.ErrACLDisabled
	}
	resolved, caller, err := a.srv.ResolveToken(args.AuthToken)
	if err != nil {
		return err
	}
	if !resolved.IsManagement() && caller.AccessorID != args.AccessorID {
		return structs.ErrPermissionDenied
	}
	return a.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, state *fsm.StateStore) error {
		t, err := state.ACLTokenByAccessorID(ws, args.AccessorID)
		if err != nil {
			return err
		}
		reply.Token = t
		if t != nil {
			reply.Index = t.ModifyIndex
			return nil
		}
		reply.Index, err = state.Index("acl_token")
		return err
	})
}

// ResolveToken returns the token behind a secret with its policies: a
// client agent uses it to authorize its own HTTP API, and
// /v1/acl/token/self to answer. Knowing the secret is the authorization.
func (a *ACLEndpoint) ResolveToken(args *structs.ResolveACLTokenRequest, reply *structs.ResolveACLTokenResponse) error {
	if done, err := a.srv.forward("ACL.ResolveToken", args, args, reply); done {
		return err
	}
	if !a.srv.config.ACLEnabled {
		return structs.ErrACLDisabled
	}
	_, token, err := a.srv.ResolveToken(args.SecretID)
	if err != nil {
		return err
	}
	state := a.srv.fsm.State()
	policies, err := tokenPolicies(state, token)
	if err != nil {
		return err
	}
	reply.Token, reply.Policies = token, policies
	reply.Index = aclIndex(state)
	a.srv.setQueryMeta(&reply.QueryMeta)
	return nil
}
