package validate

import (
	"strings"
	"testing"
)

func TestPipelineName(t *testing.T) {
	good := []string{"a", "my_pipeline", "self-monitoring.v2", "_x", "9lives", strings.Repeat("a", MaxNameBytes)}
	for _, n := range good {
		if err := PipelineName(n); err != nil {
			t.Errorf("PipelineName(%q): %v", n, err)
		}
	}
	bad := map[string]string{
		"":                                  "must not be empty",
		strings.Repeat("a", MaxNameBytes+1): "longer than the maximum",
		"has space":                         "contains ' '",
		"a/b":                               "contains '/'",
		"-lead":                             "must start with",
		".lead":                             "must start with",
		"é":                                 "must start with",
		"ab\x00":                            "contains",
	}
	for n, want := range bad {
		err := PipelineName(n)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "pipeline name") {
			t.Errorf("PipelineName(%q) = %v, want error with %q", n, err, want)
		}
	}
}

func TestConfigName(t *testing.T) {
	good := []string{"hello", "hello/world", "team-a/prod_1.yaml", "a:b@c+d", strings.Repeat("a", MaxNameBytes)}
	for _, n := range good {
		if err := ConfigName(n); err != nil {
			t.Errorf("ConfigName(%q): %v", n, err)
		}
	}
	bad := map[string]string{
		"":                                  "must not be empty",
		strings.Repeat("a", MaxNameBytes+1): "longer than the maximum",
		"a b":                               "contains ' '",
		"/lead":                             "empty path segment",
		"trail/":                            "empty path segment",
		"a//b":                              "empty path segment",
		"../x":                              `".." path segment`,
		"a/./b":                             `"." path segment`,
		"a%2Fb":                             "contains '%'",
	}
	for n, want := range bad {
		err := ConfigName(n)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "config name") {
			t.Errorf("ConfigName(%q) = %v, want error with %q", n, err, want)
		}
	}
}

func TestContents(t *testing.T) {
	if err := Contents("prometheus.scrape \"x\" {}", 0); err != nil {
		t.Fatal(err)
	}
	if err := Contents(strings.Repeat("x", DefaultMaxContentsBytes), 0); err != nil {
		t.Fatalf("1 MiB: %v", err)
	}
	cases := []struct {
		s    string
		max  int
		want string
	}{
		{"", 0, "contents must not be empty"},
		{" \n", 0, "contents must not be empty"},
		{strings.Repeat("x", DefaultMaxContentsBytes+1), 0, "larger than the maximum of 1048576"},
		{"abcd", 3, "larger than the maximum of 3"},
		{"a\xffb", 0, "valid UTF-8"},
	}
	for _, tc := range cases {
		if err := Contents(tc.s, tc.max); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Contents(len %d, %d) = %v, want %q", len(tc.s), tc.max, err, tc.want)
		}
	}
}
