package validate

import (
	"strings"
	"testing"
)

func TestParseMatcher_Syntax(t *testing.T) {
	cases := []struct {
		in    string
		name  string
		op    MatchOp
		value string
	}{
		{`env="prod"`, "env", MatchEqual, "prod"},
		{`env=prod`, "env", MatchEqual, "prod"},
		{`  env  !=  "prod"  `, "env", MatchNotEqual, "prod"},
		{`env=~"prod|dev"`, "env", MatchRegexp, "prod|dev"},
		{`env!~"prod.*"`, "env", MatchNotRegexp, "prod.*"},
		{`env="a\"b"`, "env", MatchEqual, `a"b`},
		{`env="a\\b"`, "env", MatchEqual, `a\b`},
		{`env="\x41\u00e9"`, "env", MatchEqual, "Aé"},
		{`"my key"="v"`, "my key", MatchEqual, "v"},
		{`collector.os="linux"`, "collector.os", MatchEqual, "linux"},
		{`région="é"`, "région", MatchEqual, "é"},
		{`env=""`, "env", MatchEqual, ""},
		{`{env="prod"}`, "env", MatchEqual, "prod"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			m, err := ParseMatcher(tc.in)
			if err != nil {
				t.Fatalf("ParseMatcher(%q): %v", tc.in, err)
			}
			if m.Name != tc.name || m.Op != tc.op || m.Value != tc.value {
				t.Fatalf("got %q %q %q, want %q %q %q", m.Name, m.Op, m.Value, tc.name, tc.op, tc.value)
			}
			back, err := ParseMatcher(m.String())
			if err != nil || back.Name != m.Name || back.Op != m.Op || back.Value != m.Value {
				t.Fatalf("String() %q does not round-trip: %v %+v", m.String(), err, back)
			}
		})
	}
}

func TestParseMatcher_Errors(t *testing.T) {
	cases := []struct {
		in   string
		want string
	}{
		{``, "must not be empty"},
		{`   `, "must not be empty"},
		{`env`, "expected an operator"},
		{`=prod`, "expected label name"},
		{`env=`, "expected label value"},
		{`env=~(`, "missing closing )"},
		{`env=~"[a-"`, "error parsing regexp"},
		{`a=b,c=d`, "expected 1 matcher, found 2"},
		{`""="x"`, "matcher name must not be empty"},
		{`env="unterminated`, "unterminated"},
		{"env=\xff", "valid UTF-8"},
		{`env="` + strings.Repeat("x", MaxMatcherBytes) + `"`, "longer than the maximum of 200"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			_, err := ParseMatcher(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseMatcher(%q) = %v, want error containing %q", tc.in, err, tc.want)
			}
		})
	}
}

func TestParseMatcher_LengthLimit(t *testing.T) {
	exact := `k="` + strings.Repeat("v", MaxMatcherBytes-4) + `"`
	if len(exact) != MaxMatcherBytes {
		t.Fatalf("test matcher is %d bytes", len(exact))
	}
	if _, err := ParseMatcher(exact); err != nil {
		t.Fatalf("200-byte matcher: %v", err)
	}
	if _, err := ParseMatcher(exact + " "); err == nil {
		t.Fatal("201-byte matcher accepted")
	}
}

func TestParseMatchers(t *testing.T) {
	ms, err := ParseMatchers([]string{`env="prod"`, `team=~"a|b"`})
	if err != nil || len(ms) != 2 {
		t.Fatalf("ParseMatchers: %v %v", ms, err)
	}

	_, err = ParseMatchers([]string{`env="prod"`, `env=~(`})
	if err == nil || !strings.HasPrefix(err.Error(), `invalid matcher "env=~(": `) {
		t.Fatalf("error must name the bad matcher, got %v", err)
	}

	if ms, err := ParseMatchers(nil); err != nil || len(ms) != 0 {
		t.Fatalf("empty list: %v %v", ms, err)
	}

	many := make([]string, MaxMatchers)
	for i := range many {
		many[i] = `a="b"`
	}
	if _, err := ParseMatchers(many); err != nil {
		t.Fatalf("%d matchers: %v", MaxMatchers, err)
	}
	if _, err := ParseMatchers(append(many, `a="b"`)); err == nil || !strings.Contains(err.Error(), "too many matchers") {
		t.Fatalf("%d matchers: %v", MaxMatchers+1, err)
	}
}

func TestMatcher_Matches(t *testing.T) {
	cases := []struct {
		matcher string
		attrs   map[string]string
		want    bool
	}{
		{`env="prod"`, map[string]string{"env": "prod"}, true},
		{`env="prod"`, map[string]string{"env": "dev"}, false},
		{`env="prod"`, nil, false},
		// A missing attribute compares as "".
		{`env!="prod"`, nil, true},
		{`env!="prod"`, map[string]string{"env": "prod"}, false},
		{`env=""`, nil, true},
		{`env=""`, map[string]string{"env": "x"}, false},
		{`env!=""`, nil, false},
		{`env=~""`, nil, true},
		{`env=~".+"`, nil, false},
		{`env!~".+"`, nil, true},
		// Regexes are fully anchored.
		{`env=~"prod"`, map[string]string{"env": "production"}, false},
		{`env=~"prod"`, map[string]string{"env": "xprod"}, false},
		{`env=~"prod|dev"`, map[string]string{"env": "dev"}, true},
		{`env=~"prod|dev"`, map[string]string{"env": "prodev"}, false},
		{`env=~"prod.*"`, map[string]string{"env": "production"}, true},
		{`env!~"prod.*"`, map[string]string{"env": "production"}, false},
		{`env!~"prod"`, map[string]string{"env": "production"}, true},
		{`env="a\"b"`, map[string]string{"env": `a"b`}, true},
	}
	for _, tc := range cases {
		m, err := ParseMatcher(tc.matcher)
		if err != nil {
			t.Fatalf("ParseMatcher(%q): %v", tc.matcher, err)
		}
		if got := m.Matches(tc.attrs); got != tc.want {
			t.Errorf("%s.Matches(%v) = %v, want %v", tc.matcher, tc.attrs, got, tc.want)
		}
	}
}

func TestMatchAll(t *testing.T) {
	attrs := map[string]string{"env": "prod", "team": "a"}
	if !MatchAll(nil, attrs) || !MatchAll([]*Matcher{}, nil) {
		t.Fatal("an empty matcher list must match every collector")
	}
	ms, err := ParseMatchers([]string{`env="prod"`, `team=~"a|b"`})
	if err != nil {
		t.Fatal(err)
	}
	if !MatchAll(ms, attrs) {
		t.Fatal("all matchers match, MatchAll = false")
	}
	if MatchAll(ms, map[string]string{"env": "prod", "team": "c"}) {
		t.Fatal("one matcher fails, MatchAll = true")
	}
}
