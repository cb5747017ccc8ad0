package acl

import (
	"fmt"
	"testing"
)

func boolPtr(b bool) *bool { return &b }

func debugName(p *bool) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprint(*p)
}

// tokens used by the debug tables.
var (
	tokNone       = DenyAll
	tokAgentRead  = NewACL(false, []*Policy{{Agent: PolicyRead}})
	tokAgentWrite = NewACL(false, []*Policy{{Agent: PolicyWrite}})
	tokAgentDeny  = NewACL(false, []*Policy{{Agent: PolicyWrite}, {Agent: PolicyDeny}})
	tokOther      = NewACL(false, []*Policy{{Node: PolicyWrite, Operator: PolicyWrite}})
	tokMgmt       = ManagementACL
)

// The pprof "Default Behavior" table of Nomad's agent API docs, row by row
// (enable_debug × ACLs). "yes" with ACLs on means the endpoint is
// available, i.e. served to a token with agent:write; with ACLs off there is
// no token, so availability is the whole answer.
func TestAllowPprofDocsTable(t *testing.T) {
	rows := []struct {
		enableDebug *bool
		acls        bool
		available   bool
	}{
		{nil, false, false},            // unset | off | no
		{nil, true, true},              // unset | on  | yes
		{boolPtr(true), false, true},   // true  | off | yes
		{boolPtr(true), true, true},    // true  | on  | yes (by the rule below)
		{boolPtr(false), false, false}, // false | off | no
		{boolPtr(false), true, true},   // false | on  | yes
	}
	for _, r := range rows {
		name := fmt.Sprintf("enable_debug=%s/acls=%v", debugName(r.enableDebug), r.acls)
		t.Run(name, func(t *testing.T) {
			tok := tokAgentWrite
			if !r.acls {
				tok = nil // no ACLs: no token is resolved
			}
			if got := AllowPprof(tok, r.acls, r.enableDebug); got != r.available {
				t.Errorf("AllowPprof = %v, want %v", got, r.available)
			}
			if got := AllowDebug(tok, r.acls, r.enableDebug); got != r.available {
				t.Errorf("AllowDebug = %v, want %v", got, r.available)
			}
		})
	}
}

// The full rule, every enable_debug value × ACLs × token:
//
//	ACLs off: allowed iff enable_debug is true (the token does not matter)
//	ACLs on:  pprof iff agent:write or management; host iff agent:read or
//	          management (enable_debug does not matter)
func TestDebugRules(t *testing.T) {
	tokens := []struct {
		name        string
		acl         *ACL
		pprof, host bool // with ACLs on
	}{
		{"nil", nil, false, false},
		{"no rights", tokNone, false, false},
		{"other resources", tokOther, false, false},
		{"agent read", tokAgentRead, false, true},
		{"agent write", tokAgentWrite, true, true},
		{"agent write overridden by deny", tokAgentDeny, false, false},
		{"management", tokMgmt, true, true},
	}
	for _, ed := range []*bool{nil, boolPtr(false), boolPtr(true)} {
		for _, acls := range []bool{false, true} {
			for _, tok := range tokens {
				name := fmt.Sprintf("enable_debug=%s/acls=%v/%s", debugName(ed), acls, tok.name)
				t.Run(name, func(t *testing.T) {
					wantPprof, wantHost := tok.pprof, tok.host
					if !acls {
						wantPprof = ed != nil && *ed
						wantHost = wantPprof
					}
					if got := AllowPprof(tok.acl, acls, ed); got != wantPprof {
						t.Errorf("AllowPprof = %v, want %v", got, wantPprof)
					}
					if got := AllowDebug(tok.acl, acls, ed); got != wantPprof {
						t.Errorf("AllowDebug = %v, want %v", got, wantPprof)
					}
					if got := AllowHost(tok.acl, acls, ed); got != wantHost {
						t.Errorf("AllowHost = %v, want %v", got, wantHost)
					}
				})
			}
		}
	}
}
