package command

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hashicorp/cli"

	"github.com/nomadlike/nomadlike/structs"
)

func TestCommands_NamesMatchKeys(t *testing.T) {
	for key, factory := range Commands(cli.NewMockUi()) {
		cmd, err := factory()
		if err != nil {
			t.Fatalf("factory %q: %v", key, err)
		}
		if cmd.Synopsis() == "" || cmd.Help() == "" {
			t.Errorf("%q has no synopsis or help", key)
		}
		if key == "agent" {
			continue // not ours to shape
		}
		named, ok := cmd.(interface{ Name() string })
		if !ok {
			t.Errorf("%q has no Name method", key)
			continue
		}
		if named.Name() != key {
			t.Errorf("Name() = %q, registered as %q", named.Name(), key)
		}
	}
}

func runTop(args ...string) (code int, stdout, stderr, help, errOut string) {
	ui := cli.NewMockUi()
	var helpBuf, errBuf bytes.Buffer
	code = runCLI(args, ui, &helpBuf, &errBuf)
	return code, ui.OutputWriter.String(), ui.ErrorWriter.String(), helpBuf.String(), errBuf.String()
}

func TestRun_Version(t *testing.T) {
	code, stdout, _, _, _ := runTop("version")
	if code != 0 || stdout != "nomadlike v"+structs.VersionString()+"\n" {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
	// The same words either way.
	code, _, _, help, _ := runTop("-version")
	if code != 0 || help != "nomadlike v"+structs.VersionString()+"\n" {
		t.Fatalf("-version: exit %d, %q", code, help)
	}
}

func TestRun_ParentCommandsPrintHelp(t *testing.T) {
	cases := map[string][]string{
		"server":        {"force-leave", "join", "members"},
		"operator":      {"raft"},
		"operator raft": {"list-peers", "remove-peer"},
		"node":          {"status", "token"},
		"node token":    {"create"},
	}
	for parent, subs := range cases {
		code, _, _, _, errOut := runTop(strings.Fields(parent)...)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1", parent, code)
		}
		if !strings.Contains(errOut, "Usage: nomadlike "+parent) {
			t.Errorf("%s: help missing:\n%s", parent, errOut)
		}
		for _, sub := range subs {
			if !strings.Contains(errOut, "    "+sub) {
				t.Errorf("%s: subcommand %q not listed:\n%s", parent, sub, errOut)
			}
		}
	}
}

func TestRun_TopLevelHelpAndUnknown(t *testing.T) {
	code, _, _, help, _ := runTop("-help")
	if code != 0 {
		t.Fatalf("-help exit %d", code)
	}
	for _, c := range []string{"agent", "agent-info", "node", "operator", "server", "version"} {
		if !strings.Contains(help, "    "+c+" ") {
			t.Errorf("top-level help does not list %q:\n%s", c, help)
		}
	}
	if code, _, _, _, _ := runTop("no-such-command"); code != 127 {
		t.Fatalf("unknown command exit %d, want 127", code)
	}
}

func TestRun_DispatchesNestedCommand(t *testing.T) {
	f := newFakeAgent(t, map[string]reply{"GET /v1/operator/raft/configuration": denied})
	t.Setenv("NOMADLIKE_ADDR", f.srv.URL)
	code, stdout, stderr, _, _ := runTop("operator", "raft", "list-peers")
	if code != 1 || stdout != "" || !strings.Contains(stderr, "Error retrieving raft configuration") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// An unknown command says so before the usage, and exits 127.
func TestRun_UnknownCommand(t *testing.T) {
	code, _, _, _, errOut := runTop("nosuch")
	if code != 127 || !strings.HasPrefix(errOut, `Unknown command: "nosuch"`) {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if code, _, _, _, errOut := runTop("acl", "-h"); strings.Contains(errOut, "Unknown command") {
		t.Fatalf("a known command called unknown: %d %q", code, errOut)
	}
}
