package nomadlike

import (
	"crypto/sha256"
	"sync"
	"time"

	"github.com/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/fsm"
	"github.com/nomadlike/nomadlike/structs"
)

// aclCacheSize bounds the resolved-token cache; past it the cache starts
// over rather than tracking recency, which is enough for a working set of
// agents and operators.
const aclCacheSize = 4096

// anonymousToken is what a request without a token resolves to.
var anonymousToken = &structs.ACLToken{
	AccessorID: acl.AnonymousTokenID,
	Name:       acl.AnonymousTokenName,
	Type:       structs.ACLClientToken,
	Policies:   []string{acl.AnonymousPolicyName},
}

// aclCache maps hash(secret) to a compiled ACL. Every entry is valid only
// for the ACL tables' index it was resolved at: any ACL write moves the
// index and so empties the cache, on every server, as the write applies.
type aclCache struct {
	mu      sync.Mutex
	index   uint64
	entries map[[32]byte]*resolved
}

type resolved struct {
	acl   *acl.ACL
	token *structs.ACLToken
}

// aclIndex is the index of the last write to tokens or policies.
func aclIndex(state *fsm.StateStore) uint64 {
	t, _ := state.Index("acl_token")
	p, _ := state.Index("acl_policy")
	return max(t, p)
}

// ResolveToken turns a secret into the caller's ACL and token. With ACLs
// disabled it returns (nil, nil, nil): everything is allowed. An empty
// secret is the anonymous token; an unknown or expired secret is
// structs.ErrTokenNotFound.
func (s *Server) ResolveToken(secret string) (*acl.ACL, *structs.ACLToken, error) {
	if !s.config.ACLEnabled {
		return nil, nil, nil
	}
	state := s.fsm.State()
	idx := aclIndex(state)
	key := sha256.Sum256([]byte(secret))

	c := &s.aclCache
	c.mu.Lock()
	if c.entries == nil || c.index != idx || len(c.entries) >= aclCacheSize {
		c.index, c.entries = idx, map[[32]byte]*resolved{}
	}
	r, ok := c.entries[key]
	c.mu.Unlock()
	if ok {
		if r.token.IsExpired(time.Now()) {
			return nil, nil, structs.ErrTokenNotFound
		}
		return r.acl, r.token, nil
	}

	token := anonymousToken
	if secret != "" {
		var err error
		if token, err = state.ACLTokenBySecretID(nil, secret); err != nil {
			return nil, nil, err
		}
		if token == nil && s.catchUpWithLeader() {
			// A token minted a moment ago through another server may
			// not have reached this one; now it has, if it exists.
			state = s.fsm.State()
			idx = aclIndex(state)
			if token, err = state.ACLTokenBySecretID(nil, secret); err != nil {
				return nil, nil, err
			}
		}
		if token == nil || token.IsExpired(time.Now()) {
			return nil, nil, structs.ErrTokenNotFound
		}
	}
	compiled, err := compileACL(state, token)
	if err != nil {
		return nil, nil, err
	}
	c.mu.Lock()
	if c.index == idx {
		c.entries[key] = &resolved{acl: compiled, token: token}
	}
	c.mu.Unlock()
	return compiled, token, nil
}

// aclCatchUpTimeout bounds how long a follower waits to apply what the
// leader has before it calls a secret unknown.
const aclCatchUpTimeout = 2 * time.Second

// catchUpWithLeader makes a follower apply every write the leader had
// applied when asked, and reports whether it did. Without it a token
// created through one server and used at once on another is refused for
// the ~100 ms the follower takes to learn the commit, which breaks
// "create a token, hand it to a script". Only unknown secrets pay the
// round trip; the leader, whose state is the truth, never does.
func (s *Server) catchUpWithLeader() bool {
	if s.IsLeader() {
		return false
	}
	var want uint64
	if err := s.RPC("Status.LatestIndex", &structs.GenericRequest{}, &want); err != nil {
		return false
	}
	deadline := time.Now().Add(aclCatchUpTimeout)
	for {
		if have, _ := s.fsm.State().LatestIndex(); have >= want {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// compileACL builds the ACL of a token from the policies it names;
// policies that do not exist grant nothing, as in Nomad.
func compileACL(state *fsm.StateStore, token *structs.ACLToken) (*acl.ACL, error) {
	if token.IsManagement() {
		return acl.ManagementACL, nil
	}
	policies, err := tokenPolicies(state, token)
	if err != nil {
		return nil, err
	}
	return CompilePolicies(policies)
}

// CompilePolicies parses and merges stored policies into one ACL.
func CompilePolicies(policies []*structs.ACLPolicy) (*acl.ACL, error) {
	var parsed []*acl.Policy
	for _, p := range policies {
		pp, err := acl.Parse(p.Rules)
		if err != nil {
			// Rules were validated on write; a policy that no longer
			// parses grants nothing rather than failing every request.
			continue
		}
		parsed = append(parsed, pp)
	}
	return acl.NewACL(false, parsed), nil
}

func tokenPolicies(state *fsm.StateStore, token *structs.ACLToken) ([]*structs.ACLPolicy, error) {
	var out []*structs.ACLPolicy
	for _, name := range token.Policies {
		p, err := state.ACLPolicyByName(nil, name)
		if err != nil {
			return nil, err
		}
		if p != nil {
			out = append(out, p)
		}
	}
	return out, nil
}

// authorize resolves secret and checks one capability: nil when allowed,
// structs.ErrPermissionDenied when not, structs.ErrTokenNotFound for an
// unknown secret.
func (s *Server) authorize(secret string, c acl.Capability) error {
	a, _, err := s.ResolveToken(secret)
	if err != nil {
		return err
	}
	if a != nil && !a.Allow(c) {
		return structs.ErrPermissionDenied
	}
	return nil
}

// ACLEnabled tells whether this server enforces ACLs.
func (s *Server) ACLEnabled() bool { return s.config.ACLEnabled }
