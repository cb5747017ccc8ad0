package acl

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseEveryBlockAndLevel(t *testing.T) {
	for _, resource := range Resources() {
		for _, level := range []string{PolicyDeny, PolicyRead, PolicyWrite} {
			hcl := fmt.Sprintf("%s {\n  policy = %q\n}\n", resource, level)
			json := fmt.Sprintf(`{"%s": {"policy": %q}}`, resource, level)
			for syntax, rules := range map[string]string{"hcl": hcl, "json": json} {
				t.Run(resource+"/"+level+"/"+syntax, func(t *testing.T) {
					p, err := Parse(rules)
					if err != nil {
						t.Fatalf("Parse(%q): %v", rules, err)
					}
					want := &Policy{}
					*want.field(resource) = level
					if *p != *want {
						t.Fatalf("Parse(%q) = %+v, want %+v", rules, *p, *want)
					}
				})
			}
		}
	}
}

func TestParseValid(t *testing.T) {
	all := Policy{Agent: "read", Node: "write", Operator: "deny", Pipeline: "write", Config: "read", Assistant: "deny"}
	cases := []struct {
		name  string
		rules string
		want  Policy
	}{
		{"hcl all blocks", `
# Every resource once.
agent     { policy = "read" }
node      { policy = "write" }
operator  { policy = "deny" }
pipeline  { policy = "write" }
config    { policy = "read" }
assistant { policy = "deny" }
`, all},
		{"hcl comments and blank lines", "// c1\n\n/* c2 */\nnode {\n\n  # c3\n  policy = \"write\" // c4\n}\n", Policy{Node: "write"}},
		{"hcl leading whitespace", "\n\t  agent { policy = \"write\" }", Policy{Agent: "write"}},
		{"json all blocks", `{
  "agent": {"policy": "read"}, "node": {"policy": "write"}, "operator": {"policy": "deny"},
  "pipeline": {"policy": "write"}, "config": {"policy": "read"}, "assistant": {"policy": "deny"}
}`, all},
		{"json leading whitespace", " \n\t{\"config\": {\"policy\": \"write\"}}", Policy{Config: "write"}},
		{"json block as one-element array", `{"agent": [{"policy": "read"}]}`, Policy{Agent: "read"}},
		{"json comment key", `{"//": "ignored", "node": {"//": "also ignored", "policy": "deny"}}`, Policy{Node: "deny"}},
		{"json string is verbatim", `{"operator": {"policy": "write"}}`, Policy{Operator: "write"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse(tc.rules)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if *p != tc.want {
				t.Fatalf("got %+v, want %+v", *p, tc.want)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	cases := []struct {
		name  string
		rules string
		want  string // exact message, or a prefix when it ends in "..."
	}{
		// No rules.
		{"empty", ``, `Invalid policy: no rules`},
		{"blank", " \n\t ", `Invalid policy: no rules`},
		{"hcl only comments", "# nothing\n// here\n", `Invalid policy: no rules`},
		{"json empty object", `{}`, `Invalid policy: no rules`},
		{"json only comment", `{"//": "nothing"}`, `Invalid policy: no rules`},

		// Unknown top-level items (Nomad's own blocks are not nomadlike's).
		{"hcl namespace", `namespace "default" { policy = "read" }`, `Invalid policy: unsupported block "namespace"`},
		{"hcl quota", `quota { policy = "read" }`, `Invalid policy: unsupported block "quota"`},
		{"hcl plugin", `plugin { policy = "list" }`, `Invalid policy: unsupported block "plugin"`},
		{"hcl node_pool", `node_pool "x" { policy = "read" }`, `Invalid policy: unsupported block "node_pool"`},
		{"hcl typo block", `agnet { policy = "read" }`, `Invalid policy: unsupported block "agnet"`},
		{"hcl uppercase block", `Agent { policy = "read" }`, `Invalid policy: unsupported block "Agent"`},
		{"hcl top attribute", `policy = "read"`, `Invalid policy: unsupported attribute "policy"`},
		{"hcl first problem wins", "agent { policy = \"read\" }\nfoo = 1\nbar {}\n", `Invalid policy: unsupported attribute "foo"`},
		{"json namespace", `{"namespace": {"default": {"policy": "read"}}}`, `Invalid policy: unsupported block "namespace"`},
		{"json typo block", `{"nodes": {"policy": "read"}}`, `Invalid policy: unsupported block "nodes"`},
		{"json top attribute", `{"agent": {"policy": "read"}, "foo": 1}`, `Invalid policy: unsupported attribute "foo"`},
		{"json repeated unknown", `{"foo": 1, "foo": 2}`, `Invalid policy: unsupported attribute "foo"`},

		// Known names in the wrong shape.
		{"hcl block as attribute", `agent = { policy = "read" }`, `Invalid policy: "agent" must be a block, as in agent { policy = "read" }`},
		{"hcl labelled block", `agent "x" { policy = "read" }`, `Invalid policy: block "agent" takes no labels`},
		{"json block as string", `{"agent": "read"}`, `Invalid policy: "agent" must be a block, as in agent { policy = "read" }`},
		{"json block as null", `{"node": null}`, `Invalid policy: "node" must be a block, as in node { policy = "read" }`},
		{"json block as empty array", `{"node": []}`, `Invalid policy: "node" must be a block, as in node { policy = "read" }`},
		{"json block as array of strings", `{"node": ["read"]}`, `Invalid policy: "node" must be a block, as in node { policy = "read" }`},

		// Duplicates.
		{"hcl duplicate block", "agent { policy = \"read\" }\nagent { policy = \"write\" }", `Invalid policy: duplicate block "agent"`},
		{"hcl duplicate block not adjacent", "node { policy = \"read\" }\nagent { policy = \"read\" }\nnode { policy = \"read\" }", `Invalid policy: duplicate block "node"`},
		{"hcl duplicate attribute", "agent {\n  policy = \"read\"\n  policy = \"write\"\n}", `Invalid agent policy: duplicate attribute "policy"`},
		{"json duplicate key", `{"pipeline": {"policy": "read"}, "pipeline": {"policy": "read"}}`, `Invalid policy: duplicate block "pipeline"`},
		{"json duplicate array", `{"pipeline": [{"policy": "read"}, {"policy": "write"}]}`, `Invalid policy: duplicate block "pipeline"`},
		{"json duplicate attribute", `{"config": {"policy": "read", "policy": "write"}}`, `Invalid config policy: duplicate attribute "policy"`},

		// Inside a block.
		{"hcl bad level", `agent { policy = "admin" }`, `Invalid agent policy: "admin" (want deny, read or write)`},
		{"hcl level case", `node { policy = "Write" }`, `Invalid node policy: "Write" (want deny, read or write)`},
		{"hcl nomad scale", `operator { policy = "scale" }`, `Invalid operator policy: "scale" (want deny, read or write)`},
		{"hcl nomad list", `assistant { policy = "list" }`, `Invalid assistant policy: "list" (want deny, read or write)`},
		{"hcl empty level", `config { policy = "" }`, `Invalid config policy: "" (want deny, read or write)`},
		{"hcl number level", `config { policy = 1 }`, `Invalid config policy: "1" (want deny, read or write)`},
		{"hcl bare word level", `pipeline { policy = write }`, `Invalid pipeline policy: "policy" must be a quoted string (want deny, read or write)`},
		{"hcl null level", `pipeline { policy = null }`, `Invalid pipeline policy: "policy" must be a quoted string (want deny, read or write)`},
		{"hcl list level", `pipeline { policy = ["write"] }`, `Invalid pipeline policy: "policy" must be a quoted string (want deny, read or write)`},
		{"hcl missing policy", `agent {}`, `Invalid agent policy: missing attribute "policy" (want deny, read or write)`},
		{"hcl capabilities", "operator {\n  policy = \"read\"\n  capabilities = [\"x\"]\n}", `Invalid operator policy: unsupported attribute "capabilities"`},
		{"hcl typo attribute", `agent { polcy = "read" }`, `Invalid agent policy: unsupported attribute "polcy"`},
		{"hcl nested block", "agent {\n  policy = \"read\"\n  variables {}\n}", `Invalid agent policy: unsupported block "variables"`},
		{"hcl policy as block", "agent {\n  policy {}\n}", `Invalid agent policy: "policy" must be an attribute, as in policy = "read"`},
		{"json bad level", `{"agent": {"policy": "admin"}}`, `Invalid agent policy: "admin" (want deny, read or write)`},
		{"json template is not evaluated", `{"agent": {"policy": "${x}"}}`, `Invalid agent policy: "${x}" (want deny, read or write)`},
		{"json number level", `{"node": {"policy": 2}}`, `Invalid node policy: "2" (want deny, read or write)`},
		{"json null level", `{"node": {"policy": null}}`, `Invalid node policy: "policy" must be a quoted string (want deny, read or write)`},
		{"json missing policy", `{"assistant": {}}`, `Invalid assistant policy: missing attribute "policy" (want deny, read or write)`},
		{"json capabilities", `{"operator": {"policy": "read", "capabilities": ["x"]}}`, `Invalid operator policy: unsupported attribute "capabilities"`},
		{"json nested block", `{"operator": {"policy": "read", "x": {"y": 1}}}`, `Invalid operator policy: unsupported block "x"`},
		{"json policy as object", `{"agent": {"policy": {"a": 1}}}`, `Invalid agent policy: "policy" must be an attribute, as in policy = "read"`},
		{"json repeated unknown in block", `{"agent": {"x": 1, "x": 2}}`, `Invalid agent policy: unsupported attribute "x"`},

		// Syntax errors carry a position.
		{"hcl unclosed block", `agent {`, `Invalid policy: syntax error at line 1, column 7: ...`},
		{"hcl garbage", "agent { policy = \"read\" }\n!!!", `Invalid policy: syntax error at line 2, column 1: ...`},
		{"hcl two blocks on a line", `agent { policy = "read" } node { policy = "read" }`, `Invalid policy: syntax error at line 1, column ...`},
		{"hcl unterminated string", `agent { policy = "read }`, `Invalid policy: syntax error at line 1, ...`},
		{"hcl top-level array", `[]`, `Invalid policy: syntax error at line 1, column 1: ...`},
		{"json unclosed", `{"agent": {"policy": "read"}`, `Invalid policy: syntax error at line 1, column 1: ...`},
		{"json trailing data", `{"agent": {"policy": "read"}} x`, `Invalid policy: syntax error at line 1, column 31: ...`},
		{"json trailing comma", "{\n\"agent\": {\"policy\": \"read\"},\n}", `Invalid policy: syntax error at line ...`},
		{"json single quotes", `{'agent': {}}`, `Invalid policy: syntax error at line 1, ...`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse(tc.rules)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want error %q", tc.rules, *p, tc.want)
			}
			if p != nil {
				t.Errorf("Parse returned a policy along with the error")
			}
			if !errors.Is(err, ErrInvalidPolicy) {
				t.Errorf("errors.Is(%v, ErrInvalidPolicy) = false", err)
			}
			got := err.Error()
			if prefix, ok := strings.CutSuffix(tc.want, "..."); ok {
				if !strings.HasPrefix(got, prefix) {
					t.Fatalf("Parse(%q) error\n got %q\nwant prefix %q", tc.rules, got, prefix)
				}
				return
			}
			if got != tc.want {
				t.Fatalf("Parse(%q) error\n got %q\nwant %q", tc.rules, got, tc.want)
			}
		})
	}
}

// HCL and JSON spellings of the same rules must give the same Policy.
func TestParseHCLAndJSONAgree(t *testing.T) {
	pairs := [][2]string{
		{`agent { policy = "write" }` + "\n" + `pipeline { policy = "deny" }`, `{"agent": {"policy": "write"}, "pipeline": {"policy": "deny"}}`},
		{`assistant { policy = "read" }`, `{"assistant": [{"policy": "read"}]}`},
	}
	for _, pr := range pairs {
		a, err := Parse(pr[0])
		if err != nil {
			t.Fatal(err)
		}
		b, err := Parse(pr[1])
		if err != nil {
			t.Fatal(err)
		}
		if *a != *b {
			t.Errorf("HCL %+v != JSON %+v", *a, *b)
		}
	}
}
