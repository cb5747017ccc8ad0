package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// No package of ours that the nomadlike binary links imports package
// testing: test helpers live in _test.go files or in *test packages that
// only tests import. (testing is still in the binary's dependencies
// through libraries that ship helpers in non-test files: hashicorp/raft,
// Prometheus' tsdb, go-abnf, perf-utils.)
func TestBinaryLinksNoTestHelpers(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || !strings.HasPrefix(fields[0], "github.com/nomadlike/nomadlike") {
			continue
		}
		if slices.Contains(fields[1:], "testing") {
			t.Errorf("%s imports testing and is linked into the binary", fields[0])
		}
	}
}
