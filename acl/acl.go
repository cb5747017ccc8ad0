package acl

import (
	"fmt"
	"strings"
)

// Names of the built-in anonymous identity. A request that carries no token
// is resolved (by the token resolver, outside this package) to a client
// token with AccessorID AnonymousTokenID, Name AnonymousTokenName and the
// single policy AnonymousPolicyName. It therefore has exactly the rights of
// the ACL policy named "anonymous" if an operator has created one, and no
// rights otherwise — as in Nomad.
const (
	AnonymousPolicyName = "anonymous"
	AnonymousTokenID    = "anonymous"
	AnonymousTokenName  = "Anonymous Token"
)

// ResourceNone is the Resource of the None capability.
const ResourceNone = "none"

// Capability is what an endpoint needs: a level (PolicyRead or PolicyWrite)
// on a resource (ResourceAgent, ...), or None. It is a comparable value, so
// a route table can declare each route's need as a plain field.
//
// The zero Capability is deliberately not None: it is invalid and every
// ACL, management included, refuses it, so a route that forgets to declare
// its need is closed rather than open.
type Capability struct {
	Resource string
	Level    string
}

// The capabilities routes can require. Write implies read.
var (
	// None always passes, whatever the token (health, join, ...).
	None = Capability{Resource: ResourceNone}

	AgentRead      = Capability{ResourceAgent, PolicyRead}
	AgentWrite     = Capability{ResourceAgent, PolicyWrite}
	NodeRead       = Capability{ResourceNode, PolicyRead}
	NodeWrite      = Capability{ResourceNode, PolicyWrite}
	OperatorRead   = Capability{ResourceOperator, PolicyRead}
	OperatorWrite  = Capability{ResourceOperator, PolicyWrite}
	PipelineRead   = Capability{ResourcePipeline, PolicyRead}
	PipelineWrite  = Capability{ResourcePipeline, PolicyWrite}
	ConfigRead     = Capability{ResourceConfig, PolicyRead}
	ConfigWrite    = Capability{ResourceConfig, PolicyWrite}
	AssistantRead  = Capability{ResourceAssistant, PolicyRead}
	AssistantWrite = Capability{ResourceAssistant, PolicyWrite}
)

// Valid reports whether c is None or a known resource with level read or
// write.
func (c Capability) Valid() bool {
	if c == None {
		return true
	}
	return isResource(c.Resource) && (c.Level == PolicyRead || c.Level == PolicyWrite)
}

// String returns "none" for None and "<resource>:<level>" otherwise
// ("agent:read"), the form ParseCapability reads and Nomad's docs use.
func (c Capability) String() string {
	if c == None {
		return ResourceNone
	}
	return c.Resource + ":" + c.Level
}

// ParseCapability reads the String form: "none" or "<resource>:<level>"
// with level read or write. It is exact: no spaces, lower case only.
func ParseCapability(s string) (Capability, error) {
	if s == ResourceNone {
		return None, nil
	}
	resource, level, ok := strings.Cut(s, ":")
	c := Capability{Resource: resource, Level: level}
	if !ok || !c.Valid() {
		return Capability{}, fmt.Errorf("invalid capability %q (want <resource>:read, <resource>:write or none; resources: %s)",
			s, strings.Join(resources[:], ", "))
	}
	return c, nil
}

// MarshalText implements encoding.TextMarshaler (the String form).
func (c Capability) MarshalText() ([]byte, error) {
	if !c.Valid() {
		return nil, fmt.Errorf("invalid capability %q", c.String())
	}
	return []byte(c.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler (ParseCapability).
func (c *Capability) UnmarshalText(b []byte) error {
	parsed, err := ParseCapability(string(b))
	if err != nil {
		return err
	}
	*c = parsed
	return nil
}

// ACL is the compiled, read-only result of a token's policies. It is safe
// for concurrent use. A nil *ACL has no rights (like DenyAll): callers that
// run with ACLs disabled should skip the check, not pass nil.
type ACL struct {
	management bool
	levels     map[string]string // resource → merged level; absent = not mentioned
}

// ManagementACL allows everything; DenyAll allows nothing but None.
var (
	ManagementACL = NewACL(true, nil)
	DenyAll       = NewACL(false, nil)
)

// NewACL compiles policies into an ACL. A management ACL allows everything
// and ignores policies. Otherwise, per resource: deny in any policy wins;
// else the most privileged level wins (write > read); a resource no policy
// mentions gets no access. Nil policies are skipped. A level that is not
// deny, read or write (only possible in a hand-built Policy; Parse rejects
// it) counts as deny, so a bad value can only take rights away.
func NewACL(management bool, policies []*Policy) *ACL {
	a := &ACL{management: management, levels: map[string]string{}}
	if management {
		return a
	}
	for _, p := range policies {
		if p == nil {
			continue
		}
		for _, r := range resources {
			if l := p.level(r); l != "" {
				a.levels[r] = merge(a.levels[r], l)
			}
		}
	}
	return a
}

// merge combines two levels of one resource: deny wins, then write, then
// read.
func merge(a, b string) string {
	rank := func(l string) int {
		switch l {
		case "":
			return 0
		case PolicyRead:
			return 1
		case PolicyWrite:
			return 2
		default: // PolicyDeny, or anything unrecognised
			return 3
		}
	}
	if rank(b) > rank(a) {
		if rank(b) == 3 {
			return PolicyDeny
		}
		return b
	}
	return a
}

// IsManagement reports whether a is a management ACL.
func (a *ACL) IsManagement() bool { return a != nil && a.management }

// Level returns the merged level a grants on resource: PolicyWrite for a
// management ACL, else PolicyDeny, PolicyRead, PolicyWrite or "" (not
// mentioned by any policy, or unknown resource).
func (a *ACL) Level(resource string) string {
	if a == nil || !isResource(resource) {
		return ""
	}
	if a.management {
		return PolicyWrite
	}
	return a.levels[resource]
}

// Allow reports whether a grants c. None always passes; an invalid
// capability never does (not even for management); management passes
// everything else; otherwise write needs the resource at write, and read
// needs it at read or write.
func (a *ACL) Allow(c Capability) bool {
	if c == None {
		return true
	}
	if !c.Valid() || a == nil {
		return false
	}
	if a.management {
		return true
	}
	switch l := a.levels[c.Resource]; c.Level {
	case PolicyRead:
		return l == PolicyRead || l == PolicyWrite
	case PolicyWrite:
		return l == PolicyWrite
	}
	return false
}

// Convenience checks for Nomad's coarse resources.

func (a *ACL) AllowAgentRead() bool     { return a.Allow(AgentRead) }
func (a *ACL) AllowAgentWrite() bool    { return a.Allow(AgentWrite) }
func (a *ACL) AllowNodeRead() bool      { return a.Allow(NodeRead) }
func (a *ACL) AllowNodeWrite() bool     { return a.Allow(NodeWrite) }
func (a *ACL) AllowOperatorRead() bool  { return a.Allow(OperatorRead) }
func (a *ACL) AllowOperatorWrite() bool { return a.Allow(OperatorWrite) }

// AllowPprof is the rule for /v1/agent/pprof/*:
//
//	ACLs | enable_debug   | allowed
//	off  | unset or false | no
//	off  | true           | yes
//	on   | any            | iff a has agent:write (management included)
//
// With ACLs on, enable_debug is ignored: pprof is available, behind
// agent:write (Nomad's RPC requires agent:write before the debug rule,
// which agent:write always satisfies). a is ignored with ACLs off.
func AllowPprof(a *ACL, aclsEnabled bool, enableDebug *bool) bool {
	if !aclsEnabled {
		return enableDebug != nil && *enableDebug
	}
	return a.Allow(AgentWrite)
}

// AllowDebug is the debug-endpoint rule in the form of the pprof table; it
// is AllowPprof. AllowHost is the same rule with agent:read.
func AllowDebug(a *ACL, aclsEnabled bool, enableDebug *bool) bool {
	return AllowPprof(a, aclsEnabled, enableDebug)
}

// AllowHost is the rule for /v1/agent/host (Nomad's bare debug rule): with
// ACLs on, agent:read (or management), whatever enable_debug says; with
// ACLs off, only when enable_debug is true.
func AllowHost(a *ACL, aclsEnabled bool, enableDebug *bool) bool {
	if !aclsEnabled {
		return enableDebug != nil && *enableDebug
	}
	return a.Allow(AgentRead)
}
