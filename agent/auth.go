package agent

import (
	"crypto/sha256"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/nomadlike"
	"github.com/nomadlike/nomadlike/structs"
)

// needKind says what kind of check a route makes.
type needKind int

const (
	needNone       needKind = iota // anyone, even with an unknown token
	needCapability                 // the token's ACL allows cap
	needManagement                 // a management token
	needToken                      // any real (non-anonymous) token
)

// need is what a route requires of the caller for one method.
type need struct {
	kind needKind
	cap  acl.Capability
	// also lists further capabilities a needCapability route requires
	// besides cap (all of them; a management token has every one).
	also []acl.Capability
}

// needs maps HTTP methods to what each requires. A method a route does
// not list is not served by it (the handler answers 405).
type needs map[string]need

var (
	none       = need{kind: needNone}
	management = need{kind: needManagement}
	anyToken   = need{kind: needToken}
)

func capability(c acl.Capability) need { return need{kind: needCapability, cap: c} }

// capabilities needs every one of caps (at least one).
func capabilities(first acl.Capability, more ...acl.Capability) need {
	return need{kind: needCapability, cap: first, also: more}
}

// caps lists every capability a needCapability need requires.
func (n need) caps() []acl.Capability {
	return append([]acl.Capability{n.cap}, n.also...)
}

// get is the needs of a read-only route.
func get(n need) needs { return needs{"GET": n} }

// String names the need, as the route table test prints it.
func (n need) String() string {
	switch n.kind {
	case needCapability:
		names := make([]string, 0, 1+len(n.also))
		for _, c := range n.caps() {
			names = append(names, c.String())
		}
		return strings.Join(names, "+")
	case needManagement:
		return "management"
	case needToken:
		return "token"
	}
	return "none"
}

// authorize runs before every handler: it resolves the caller's token and
// checks what the route needs for this method. With ACLs off every request
// passes.
func (s *HTTPServer) authorize(req *http.Request, r route) error {
	n, ok := r.needs[req.Method]
	if !ok || n.kind == needNone || !s.agent.aclEnabled() {
		return nil
	}
	a, token, err := s.agent.resolveToken(tokenFromRequest(req))
	if err != nil {
		return err
	}
	switch n.kind {
	case needManagement:
		if !a.IsManagement() {
			return structs.ErrPermissionDenied
		}
	case needToken:
		if token.AccessorID == acl.AnonymousTokenID {
			return structs.ErrPermissionDenied
		}
	case needCapability:
		for _, c := range n.caps() {
			if !a.Allow(c) {
				return structs.ErrPermissionDenied
			}
		}
	}
	return nil
}

// aclEnabled tells whether this agent enforces ACLs.
func (a *Agent) aclEnabled() bool { return *a.config.ACL.Enabled }

// resolveToken resolves a secret: on a server from its own state; on a
// client-only agent through a server, cached briefly.
func (a *Agent) resolveToken(secret string) (*acl.ACL, *structs.ACLToken, error) {
	if a.server != nil {
		return a.server.ResolveToken(secret)
	}
	return a.tokens.resolve(a, secret)
}

// knownToken returns the token secret names if this agent can tell
// without asking anyone (a server's own state, a client's cache), nil
// otherwise. Rate limiting keys on it before authorization runs, so an
// unknown secret costs no RPC there.
func (a *Agent) knownToken(secret string) *structs.ACLToken {
	if secret == "" || !a.aclEnabled() {
		return nil
	}
	if a.server != nil {
		return a.server.KnownToken(secret)
	}
	return a.tokens.known(secret)
}

// clientTokenTTL is how long a client-only agent trusts a resolved token:
// a revoked token keeps working on client agents' own HTTP API for at most
// this long (servers see revocations as soon as they apply them).
const clientTokenTTL = 5 * time.Second

// tokenCache is a client-only agent's cache of resolved tokens.
type tokenCache struct {
	mu      sync.Mutex
	entries map[[32]byte]cachedToken
}

type cachedToken struct {
	acl     *acl.ACL
	token   *structs.ACLToken
	expires time.Time
}

// known returns a cached, unexpired token for secret, or nil.
func (c *tokenCache) known(secret string) *structs.ACLToken {
	key := sha256.Sum256([]byte(secret))
	now := time.Now()
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if !ok || !now.Before(e.expires) || e.token.IsExpired(now) {
		return nil
	}
	return e.token
}

func (c *tokenCache) resolve(a *Agent, secret string) (*acl.ACL, *structs.ACLToken, error) {
	key := sha256.Sum256([]byte(secret))
	now := time.Now()
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Before(e.expires) && !e.token.IsExpired(now) {
		return e.acl, e.token, nil
	}
	args := &structs.ResolveACLTokenRequest{SecretID: secret, QueryOptions: structs.QueryOptions{AllowStale: true, Region: *a.config.Region}}
	var reply structs.ResolveACLTokenResponse
	if err := a.RPC("ACL.ResolveToken", args, &reply); err != nil {
		return nil, nil, err
	}
	compiled := acl.ManagementACL
	if !reply.Token.IsManagement() {
		var err error
		if compiled, err = nomadlike.CompilePolicies(reply.Policies); err != nil {
			return nil, nil, err
		}
	}
	c.mu.Lock()
	if c.entries == nil || len(c.entries) > 4096 {
		c.entries = map[[32]byte]cachedToken{}
	}
	c.entries[key] = cachedToken{acl: compiled, token: reply.Token, expires: now.Add(clientTokenTTL)}
	c.mu.Unlock()
	return compiled, reply.Token, nil
}
