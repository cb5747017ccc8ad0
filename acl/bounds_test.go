package acl

import (
	"errors"
	"strings"
	"testing"
)

// TestParse_BoundsNestingAndSize: deeply nested rules killed the server
// with a Go stack overflow inside hclsyntax (a 200 KB body of brackets).
// Depth and size are refused before any parser runs, with a message that
// says why; nesting inside comments is not nesting, inside a string's
// interpolation it is.
func TestParse_BoundsNestingAndSize(t *testing.T) {
	nested := func(n int, open, close string) string {
		return strings.Repeat(open, n) + strings.Repeat(close, n)
	}
	cases := []struct {
		name, rules, want string
	}{
		{"200 KB of brackets", "agent { policy = " + nested(100_000, "[", "]") + " }", "rules are 200019 bytes; at most 65536"},
		{"200 KB unclosed", strings.Repeat("[", 200_000), "rules are 200000 bytes"},
		{"brackets", "agent { policy = " + nested(10_000, "[", "]") + " }", "nested more than 64 levels deep"},
		{"unclosed brackets", "agent { policy = " + strings.Repeat("[", 30_000), "nested more than 64 levels deep"},
		{"blocks", nested(65, "a {\n", "}\n"), "nested more than 64 levels deep"},
		{"parentheses", "agent { policy = " + nested(65, "(", ")") + " }", "nested more than 64 levels deep"},
		{"interpolation", `agent { policy = "${` + nested(65, "[", "]") + `}" }`, "nested more than 64 levels deep"},
		{"nested templates", "agent { policy = " + strings.Repeat(`"${`, 40) + strings.Repeat(`}"`, 40) + " }", "nested more than 64 levels deep"},
		{"unary operators", "agent { policy = " + strings.Repeat("!", 10_000) + "true }", "more than 64 operators"},
		{"conditionals", "agent { policy = " + strings.Repeat("true ? 1 : ", 100) + "2 }", "more than 64 operators"},
		{"template directives", `agent { policy = "` + strings.Repeat("%{if true}", 100) + strings.Repeat("%{endif}", 100) + `" }`, "more than 64 operators or directives"},
		{"JSON", `{"agent": {"policy": ` + nested(10_000, "[", "]") + `}}`, "nested more than 64 levels deep"},
		{"JSON objects", nested(65, `{"a":`, "}"), "nested more than 64 levels deep"},
	}
	for _, c := range cases {
		_, err := Parse(c.rules)
		if err == nil || !errors.Is(err, ErrInvalidPolicy) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}

	// What is not nesting passes: brackets in comments and in JSON
	// strings, and the deepest a policy may go.
	ok := []string{
		"# " + strings.Repeat("[", 1000) + "\nagent { policy = \"read\" }",
		"/* " + strings.Repeat("{", 1000) + " */ agent { policy = \"read\" }",
		`{"agent": {"policy": "read"}, "_": "` + strings.Repeat("[", 1000) + `"}`,
	}
	for _, rules := range ok {
		if err := checkNesting([]byte(rules), strings.HasPrefix(rules, "{")); err != nil {
			t.Errorf("%.40q...: %v", rules, err)
		}
	}
	if _, err := Parse("# " + strings.Repeat("[", 1000) + "\nagent { policy = \"read\" }"); err != nil {
		t.Errorf("brackets in a comment: %v", err)
	}
	if err := checkNesting([]byte(nested(64, "a {\n", "}\n")), false); err != nil {
		t.Errorf("64 levels: %v", err)
	}
}
