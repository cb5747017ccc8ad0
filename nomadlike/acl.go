package nomadlike

import (
	"crypto/sha256"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/fsm"
	"github.com/nomadlike/nomadlike/structs"
)

// aclCacheSize bounds the resolved-token cache and the not-found cache;
// past it a cache starts over rather than tracking recency, which is
// enough for a working set of agents and operators.
const aclCacheSize = 4096

// aclNotFoundTTL is how long a secret found unknown (after a catch-up with
// the leader) is answered "not found" without another catch-up. Secrets
// are minted by the servers, so no caller can know one before it exists;
// the entry goes anyway with the next ACL write this server applies.
const aclNotFoundTTL = 5 * time.Second

// aclCatchUpInterval is the least time between two catch-ups' leader
// RPCs, so unknown secrets cost the leader at most one RPC per interval
// per follower however many arrive, each still waiting for a catch-up that
// starts after it arrived.
const aclCatchUpInterval = 50 * time.Millisecond

// anonymousToken is what a request without a token resolves to.
var anonymousToken = &structs.ACLToken{
	AccessorID: acl.AnonymousTokenID,
	Name:       acl.AnonymousTokenName,
	Type:       structs.ACLClientToken,
	Policies:   []string{acl.AnonymousPolicyName},
}

// aclCache maps hash(secret) to a compiled ACL, and remembers secrets that
// were not found. Every entry is valid only for the ACL tables' index it
// was resolved at: any ACL write moves the index and so empties both maps,
// on every server, as the write applies.
type aclCache struct {
	mu       sync.Mutex
	index    uint64
	entries  map[[32]byte]*resolved
	notFound map[[32]byte]time.Time // expiry of each entry

	catchUp catchUps
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

// lookup returns the cached answer for key at ACL index idx: a resolved
// token, or notFound when the secret was recently found unknown.
func (c *aclCache) lookup(key [32]byte, idx uint64, now time.Time) (r *resolved, notFound bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || c.index != idx || len(c.entries) >= aclCacheSize {
		c.index, c.entries = idx, map[[32]byte]*resolved{}
		c.notFound = map[[32]byte]time.Time{}
	}
	if exp, ok := c.notFound[key]; ok {
		if now.Before(exp) {
			return nil, true
		}
		delete(c.notFound, key)
	}
	return c.entries[key], false
}

// remember stores a resolved token, or a not-found secret when r is nil,
// found at ACL index idx: the cache moves to a newer index (a catch-up
// may have applied ACL writes) and ignores an answer from an older one.
func (c *aclCache) remember(key [32]byte, idx uint64, r *resolved, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if idx < c.index {
		return
	}
	if idx > c.index || c.entries == nil {
		c.index, c.entries = idx, map[[32]byte]*resolved{}
		c.notFound = map[[32]byte]time.Time{}
	}
	if r != nil {
		c.entries[key] = r
		return
	}
	if len(c.notFound) >= aclCacheSize {
		c.notFound = map[[32]byte]time.Time{}
	}
	c.notFound[key] = now.Add(aclNotFoundTTL)
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
	now := time.Now()

	c := &s.aclCache
	r, notFound := c.lookup(key, idx, now)
	if notFound {
		return nil, nil, structs.ErrTokenNotFound
	}
	if r != nil {
		if r.token.IsExpired(now) {
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
		known := true // whether "not found" is the truth, worth caching
		if token == nil && !s.IsLeader() {
			// A token minted a moment ago through another server may
			// not have reached this one; after a catch-up it has, if
			// it exists.
			if known = s.catchUpWithLeader(); known {
				state = s.fsm.State()
				idx = aclIndex(state)
				if token, err = state.ACLTokenBySecretID(nil, secret); err != nil {
					return nil, nil, err
				}
			}
		}
		if token == nil && known {
			c.remember(key, idx, nil, now)
		}
		if token == nil || token.IsExpired(now) {
			return nil, nil, structs.ErrTokenNotFound
		}
	}
	compiled, err := compileACL(state, token)
	if err != nil {
		return nil, nil, err
	}
	c.remember(key, idx, &resolved{acl: compiled, token: token}, now)
	return compiled, token, nil
}

// KnownToken returns the token a secret names if this server already
// knows it, from its cache or its own state, and nil otherwise: it never
// asks the leader. The HTTP rate limiter uses it to give a real token its
// own bucket while unknown secrets share their address's.
func (s *Server) KnownToken(secret string) *structs.ACLToken {
	if !s.config.ACLEnabled || secret == "" {
		return nil
	}
	state := s.fsm.State()
	key := sha256.Sum256([]byte(secret))
	now := time.Now()
	if r, notFound := s.aclCache.lookup(key, aclIndex(state), now); notFound {
		return nil
	} else if r != nil {
		if r.token.IsExpired(now) {
			return nil
		}
		return r.token
	}
	token, err := state.ACLTokenBySecretID(nil, secret)
	if err != nil || token == nil || token.IsExpired(now) {
		return nil
	}
	return token
}

// aclCatchUpTimeout bounds how long a follower waits to apply what the
// leader has before it calls a secret unknown.
const aclCatchUpTimeout = 2 * time.Second

// catchUps coalesces followers' catch-ups with the leader. Callers join
// the next round, which starts once the running one is over and at least
// aclCatchUpInterval after it started; one round serves every caller that
// joined it. A round that started before a caller arrived may have asked
// the leader before that caller's token existed, so nobody joins a round
// already running.
type catchUps struct {
	mu        sync.Mutex
	next      *catchUpRound
	running   bool
	lastStart time.Time
	// rounds counts the leader RPCs made, for tests and debugging.
	rounds atomic.Uint64
}

type catchUpRound struct {
	done chan struct{}
	ok   bool
}

// catchUpWithLeader makes a follower apply every write the leader had
// applied when asked, and reports whether it did. Without it a token
// created through one server and used at once on another is refused for
// the ~100 ms the follower takes to learn the commit, which breaks
// "create a token, hand it to a script". Only unknown secrets pay the
// round trip, coalesced and paced by catchUps; the leader, whose state is
// the truth, never does.
func (s *Server) catchUpWithLeader() bool {
	c := &s.aclCache.catchUp
	c.mu.Lock()
	if c.next == nil {
		c.next = &catchUpRound{done: make(chan struct{})}
	}
	r := c.next
	if !c.running {
		c.running = true
		go s.runCatchUps()
	}
	c.mu.Unlock()
	select {
	case <-r.done:
		return r.ok
	case <-s.shutdownCh:
		return false
	}
}

// runCatchUps runs the queued rounds one after the other, paced by
// aclCatchUpInterval, and exits when none is queued.
func (s *Server) runCatchUps() {
	c := &s.aclCache.catchUp
	for {
		c.mu.Lock()
		if c.next == nil {
			c.running = false
			c.mu.Unlock()
			return
		}
		wait := time.Until(c.lastStart.Add(aclCatchUpInterval))
		c.mu.Unlock()
		if wait > 0 {
			// Callers arriving meanwhile join this round.
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-s.shutdownCh:
				t.Stop()
			}
		}
		c.mu.Lock()
		r := c.next
		c.next, c.lastStart = nil, time.Now()
		c.mu.Unlock()
		r.ok = !s.isShutdown() && s.catchUpOnce()
		close(r.done)
	}
}

// catchUpOnce asks the leader for its applied index and waits until this
// server has applied as much.
func (s *Server) catchUpOnce() bool {
	var want uint64
	s.aclCache.catchUp.rounds.Add(1)
	if err := s.RPC("Status.LatestIndex", &structs.GenericRequest{}, &want); err != nil {
		return false
	}
	deadline := time.Now().Add(aclCatchUpTimeout)
	for {
		if have, _ := s.fsm.State().LatestIndex(); have >= want {
			return true
		}
		if time.Now().After(deadline) || s.isShutdown() {
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
