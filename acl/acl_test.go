package acl

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// allCaps is every real capability, in a fixed order.
var allCaps = []Capability{
	AgentRead, AgentWrite, NodeRead, NodeWrite, OperatorRead, OperatorWrite,
	PipelineRead, PipelineWrite, ConfigRead, ConfigWrite, AssistantRead, AssistantWrite,
}

func mustParse(t *testing.T, rules string) *Policy {
	t.Helper()
	p, err := Parse(rules)
	if err != nil {
		t.Fatalf("Parse(%q): %v", rules, err)
	}
	return p
}

// allowed lists the capabilities a grants, as strings.
func allowed(a *ACL) []string {
	var out []string
	for _, c := range allCaps {
		if a.Allow(c) {
			out = append(out, c.String())
		}
	}
	return out
}

func TestMerge(t *testing.T) {
	cases := []struct {
		name     string
		policies []string
		want     []string // granted capabilities
		levels   map[string]string
	}{
		{"no policies", nil, nil, map[string]string{}},
		{"read", []string{`agent { policy = "read" }`}, []string{"agent:read"}, map[string]string{"agent": "read"}},
		{"write implies read", []string{`node { policy = "write" }`}, []string{"node:read", "node:write"}, map[string]string{"node": "write"}},
		{"deny alone", []string{`operator { policy = "deny" }`}, nil, map[string]string{"operator": "deny"}},
		{"most privileged wins", []string{`agent { policy = "read" }`, `agent { policy = "write" }`},
			[]string{"agent:read", "agent:write"}, map[string]string{"agent": "write"}},
		{"most privileged wins, other order", []string{`agent { policy = "write" }`, `agent { policy = "read" }`},
			[]string{"agent:read", "agent:write"}, map[string]string{"agent": "write"}},
		{"deny beats write", []string{`pipeline { policy = "write" }`, `pipeline { policy = "deny" }`}, nil, map[string]string{"pipeline": "deny"}},
		{"deny beats write, deny first", []string{`pipeline { policy = "deny" }`, `pipeline { policy = "write" }`}, nil, map[string]string{"pipeline": "deny"}},
		{"deny beats read among three", []string{`config { policy = "read" }`, `config { policy = "deny" }`, `config { policy = "write" }`},
			nil, map[string]string{"config": "deny"}},
		{"deny is per resource", []string{"assistant { policy = \"deny\" }\nagent { policy = \"write\" }", `assistant { policy = "write" }`},
			[]string{"agent:read", "agent:write"}, map[string]string{"assistant": "deny", "agent": "write"}},
		{"union across resources", []string{`agent { policy = "read" }`, `node { policy = "write" }`, `config { policy = "read" }`},
			[]string{"agent:read", "node:read", "node:write", "config:read"}, map[string]string{"agent": "read", "node": "write", "config": "read"}},
		{"each resource independent", []string{`
agent     { policy = "read" }
node      { policy = "write" }
operator  { policy = "read" }
pipeline  { policy = "write" }
config    { policy = "deny" }
assistant { policy = "read" }`},
			[]string{"agent:read", "node:read", "node:write", "operator:read", "pipeline:read", "pipeline:write", "assistant:read"},
			map[string]string{"agent": "read", "node": "write", "operator": "read", "pipeline": "write", "config": "deny", "assistant": "read"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ps []*Policy
			for _, r := range tc.policies {
				ps = append(ps, mustParse(t, r))
			}
			a := NewACL(false, ps)
			if a.IsManagement() {
				t.Fatal("IsManagement() = true")
			}
			if got := allowed(a); !slices.Equal(got, tc.want) {
				t.Errorf("allowed = %v, want %v", got, tc.want)
			}
			for _, r := range Resources() {
				if got := a.Level(r); got != tc.levels[r] {
					t.Errorf("Level(%q) = %q, want %q", r, got, tc.levels[r])
				}
			}
			if !a.Allow(None) {
				t.Error("None refused")
			}
		})
	}
}

func TestMergeHandBuiltPolicies(t *testing.T) {
	// Nil policies are skipped.
	a := NewACL(false, []*Policy{nil, {Agent: PolicyWrite}, nil})
	if !a.AllowAgentWrite() {
		t.Error("nil policy broke the merge")
	}
	// A level Parse would reject can only take rights away: it counts as deny.
	a = NewACL(false, []*Policy{{Node: PolicyWrite}, {Node: "Write"}})
	if a.AllowNodeRead() || a.Level(ResourceNode) != PolicyDeny {
		t.Errorf("unknown level: AllowNodeRead=%v Level=%q, want false, deny", a.AllowNodeRead(), a.Level(ResourceNode))
	}
	// NewACL does not keep a reference to the policies.
	p := &Policy{Config: PolicyRead}
	a = NewACL(false, []*Policy{p})
	p.Config = PolicyWrite
	if a.Allow(ConfigWrite) {
		t.Error("ACL changed after its policy was modified")
	}
}

func TestManagement(t *testing.T) {
	for name, a := range map[string]*ACL{
		"ManagementACL":            ManagementACL,
		"NewACL(true, nil)":        NewACL(true, nil),
		"management ignores deny":  NewACL(true, []*Policy{{Agent: PolicyDeny, Node: PolicyDeny, Operator: PolicyDeny}}),
		"management ignores bogus": NewACL(true, []*Policy{{Agent: "nonsense"}}),
	} {
		t.Run(name, func(t *testing.T) {
			if !a.IsManagement() {
				t.Error("IsManagement() = false")
			}
			if got := allowed(a); len(got) != len(allCaps) {
				t.Errorf("allowed = %v, want all", got)
			}
			if !a.Allow(None) {
				t.Error("None refused")
			}
			for _, r := range Resources() {
				if a.Level(r) != PolicyWrite {
					t.Errorf("Level(%q) = %q, want write", r, a.Level(r))
				}
			}
			// Invalid capabilities are refused even for management, so a
			// typo in a route table shows up at once.
			for _, c := range []Capability{{}, {"agent", ""}, {"agent", "deny"}, {"agnet", "read"}, {"namespace", "read"}} {
				if a.Allow(c) {
					t.Errorf("Allow(%#v) = true", c)
				}
			}
			if !a.AllowAgentRead() || !a.AllowAgentWrite() || !a.AllowNodeRead() || !a.AllowNodeWrite() ||
				!a.AllowOperatorRead() || !a.AllowOperatorWrite() {
				t.Error("a convenience check refused management")
			}
		})
	}
}

func TestDenyAllAndNil(t *testing.T) {
	var nilACL *ACL
	for name, a := range map[string]*ACL{"DenyAll": DenyAll, "nil": nilACL, "empty policies": NewACL(false, []*Policy{})} {
		t.Run(name, func(t *testing.T) {
			if a.IsManagement() {
				t.Error("IsManagement() = true")
			}
			if got := allowed(a); got != nil {
				t.Errorf("allowed = %v, want none", got)
			}
			if !a.Allow(None) {
				t.Error("None refused")
			}
			if a.AllowAgentRead() || a.AllowAgentWrite() || a.AllowNodeRead() || a.AllowNodeWrite() ||
				a.AllowOperatorRead() || a.AllowOperatorWrite() {
				t.Error("a convenience check passed")
			}
			for _, r := range Resources() {
				if a.Level(r) != "" {
					t.Errorf("Level(%q) = %q, want empty", r, a.Level(r))
				}
			}
		})
	}
}

func TestConvenienceMethods(t *testing.T) {
	checks := map[string]func(*ACL) bool{
		"agent:read": (*ACL).AllowAgentRead, "agent:write": (*ACL).AllowAgentWrite,
		"node:read": (*ACL).AllowNodeRead, "node:write": (*ACL).AllowNodeWrite,
		"operator:read": (*ACL).AllowOperatorRead, "operator:write": (*ACL).AllowOperatorWrite,
	}
	for _, r := range []string{ResourceAgent, ResourceNode, ResourceOperator} {
		for _, level := range []string{PolicyDeny, PolicyRead, PolicyWrite} {
			a := NewACL(false, []*Policy{mustParse(t, fmt.Sprintf("%s { policy = %q }", r, level))})
			for name, check := range checks {
				c, _ := ParseCapability(name)
				want := c.Resource == r && (level == PolicyWrite || (level == PolicyRead && c.Level == PolicyRead))
				if got := check(a); got != want {
					t.Errorf("%s=%s: %s = %v, want %v", r, level, name, got, want)
				}
				if got := a.Allow(c); got != want {
					t.Errorf("%s=%s: Allow(%s) = %v, want %v", r, level, name, got, want)
				}
			}
		}
	}
}

func TestCapabilityStringAndParse(t *testing.T) {
	want := []string{
		"agent:read", "agent:write", "node:read", "node:write", "operator:read", "operator:write",
		"pipeline:read", "pipeline:write", "config:read", "config:write", "assistant:read", "assistant:write",
	}
	for i, c := range allCaps {
		if c.String() != want[i] {
			t.Errorf("String() = %q, want %q", c.String(), want[i])
		}
		if !c.Valid() {
			t.Errorf("%s not valid", c)
		}
		back, err := ParseCapability(c.String())
		if err != nil || back != c {
			t.Errorf("ParseCapability(%q) = %#v, %v", c.String(), back, err)
		}
	}
	if None.String() != "none" || !None.Valid() {
		t.Errorf("None: String %q Valid %v", None.String(), None.Valid())
	}
	if c, err := ParseCapability("none"); err != nil || c != None {
		t.Errorf(`ParseCapability("none") = %#v, %v`, c, err)
	}
	if (Capability{}) == None || (Capability{}).Valid() {
		t.Error("the zero Capability must not be None, nor valid")
	}

	for _, bad := range []string{
		"", ":", "agent", "agent:", ":read", "agent:deny", "agent:list", "agent:read:x", "Agent:read", "agent:READ",
		" agent:read", "agent:read ", "namespace:read", "none:read", "NONE", "*", "agent:*",
	} {
		c, err := ParseCapability(bad)
		if err == nil {
			t.Errorf("ParseCapability(%q) = %#v, want error", bad, c)
			continue
		}
		if c != (Capability{}) {
			t.Errorf("ParseCapability(%q) returned %#v with its error", bad, c)
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("%q", bad)) {
			t.Errorf("ParseCapability(%q) error %q does not quote the input", bad, err)
		}
	}
}

func TestCapabilityText(t *testing.T) {
	type route struct {
		Need Capability
	}
	b, err := json.Marshal([]route{{AgentWrite}, {None}, {AssistantRead}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `[{"Need":"agent:write"},{"Need":"none"},{"Need":"assistant:read"}]`; got != want {
		t.Fatalf("Marshal = %s, want %s", got, want)
	}
	var back []route
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back[0].Need != AgentWrite || back[1].Need != None || back[2].Need != AssistantRead {
		t.Fatalf("Unmarshal = %+v", back)
	}
	if err := json.Unmarshal([]byte(`{"Need":"agent:admin"}`), &route{}); err == nil {
		t.Error("Unmarshal accepted agent:admin")
	}
	if _, err := json.Marshal(route{}); err == nil {
		t.Error("Marshal accepted the zero Capability")
	}
}

func TestAnonymousNames(t *testing.T) {
	if AnonymousPolicyName != "anonymous" || AnonymousTokenID != "anonymous" || AnonymousTokenName != "Anonymous Token" {
		t.Errorf("anonymous names changed: %q %q %q", AnonymousPolicyName, AnonymousTokenID, AnonymousTokenName)
	}
}

func TestConcurrentUse(t *testing.T) {
	a := NewACL(false, []*Policy{{Agent: PolicyRead, Pipeline: PolicyWrite}})
	done := make(chan bool)
	for range 8 {
		go func() {
			ok := true
			for range 1000 {
				ok = ok && a.Allow(AgentRead) && !a.Allow(AgentWrite) && a.Allow(PipelineWrite) &&
					ManagementACL.Allow(ConfigWrite) && !DenyAll.Allow(ConfigRead)
			}
			done <- ok
		}()
	}
	for range 8 {
		if !<-done {
			t.Error("inconsistent answer under concurrency")
		}
	}
}

func TestResourcesIsACopy(t *testing.T) {
	r := Resources()
	want := []string{"agent", "node", "operator", "pipeline", "config", "assistant"}
	if !slices.Equal(r, want) {
		t.Fatalf("Resources() = %v, want %v", r, want)
	}
	r[0] = "namespace"
	if Resources()[0] != "agent" || !AgentRead.Valid() {
		t.Fatal("modifying the returned slice changed the package")
	}
}
