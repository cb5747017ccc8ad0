package command

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/cli"

	"github.com/nomadlike/nomadlike/agent"
)

// agent validate accepts what the agent would start with and refuses, with
// the agent's own messages, what it would refuse, creating nothing.
func TestAgentValidateCommand(t *testing.T) {
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	server := writeConfig(t, dir, "server.hcl", "name = \"s1\"\ndata_dir = \""+dataDir+"\"\nserver {\n  enabled = true\n}\n")
	ports := writeConfig(t, dir, "ports.hcl", "ports {\n  http = 5646\n}\n")
	noRole := writeConfig(t, dir, "norole.hcl", "data_dir = \""+dataDir+"\"\n")
	unknown := writeConfig(t, dir, "unknown.hcl", "server {\n  enabled = true\n  bootstrap = 1\n}\n")
	confDir := filepath.Join(dir, "conf.d")
	if err := os.Mkdir(confDir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeConfig(t, confDir, "10-ok.hcl", "data_dir = \""+dataDir+"\"\nclient {\n  enabled = true\n  servers = [\"127.0.0.1:4647\"]\n}\n")
	bad := writeConfig(t, confDir, "20-bad.hcl", "client {\n  serverz = [\"a:4647\"]\n}\n")
	empty := writeConfig(t, dir, "empty.hcl", "")

	cases := []struct {
		name     string
		args     []string
		code     int
		out, err []string
	}{
		{"a server", []string{server}, 0, []string{"Configuration is valid: server,", `node "s1"`, "data dir " + dataDir, "http 4646"}, nil},
		{"files merge in order", []string{server, ports}, 0, []string{"http 5646", "rpc 4647"}, nil},
		{"dev defaults", []string{"-dev", empty}, 0, []string{"server+client", "http 4646"}, nil},
		{"neither server nor client", []string{noRole}, 1, nil, []string{"Error in agent configuration:", "-server", "-client"}},
		{"no data dir", []string{empty}, 1, nil, []string{"data_dir"}},
		{"unknown field", []string{unknown}, 1, nil, []string{unknown + ":3", "server.bootstrap"}},
		{"a directory with a bad file", []string{confDir}, 1, nil, []string{bad + ":2", "client.serverz"}},
		{"a missing file", []string{filepath.Join(dir, "nope.hcl")}, 1, nil, []string{"nope.hcl"}},
		{"no path", nil, 1, nil, []string{"one or more arguments", "Usage: nomadlike agent validate"}},
		{"unknown flag", []string{"-bogus", server}, 1, nil, []string{"-bogus"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ui := cli.NewMockUi()
			code := (&AgentValidateCommand{Ui: ui}).Run(tc.args)
			stdout, stderr := ui.OutputWriter.String(), ui.ErrorWriter.String()
			if code != tc.code {
				t.Fatalf("exit %d, want %d (stdout %q, stderr %q)", code, tc.code, stdout, stderr)
			}
			for _, w := range tc.out {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout %q does not say %q", stdout, w)
				}
			}
			for _, w := range tc.err {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not say %q", stderr, w)
				}
			}
			if (code == 0) != (stderr == "") {
				t.Errorf("exit %d with stderr %q", code, stderr)
			}
		})
	}
	if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
		t.Fatalf("data dir %s exists (err %v): validate created something", dataDir, err)
	}
}

// The CLI routes "agent validate" to the command, and "agent" with flags
// still to the agent.
func TestRun_AgentValidate(t *testing.T) {
	dir := t.TempDir()
	f := writeConfig(t, dir, "a.hcl", "data_dir = \""+filepath.Join(dir, "data")+"\"\nserver {\n  enabled = true\n}\n")
	code, stdout, stderr, _, _ := runTop("agent", "validate", f)
	if code != 0 || !strings.Contains(stdout, "Configuration is valid") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// README's agent.hcl, the example of every setting, is a configuration
// the agent accepts: it cannot drift from the parser or the checks.
func TestAgentValidate_ReadmeExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "```hcl\n# agent.hcl:")
	if !ok {
		t.Fatal("README has no ```hcl block starting with \"# agent.hcl:\"")
	}
	block, _, ok := strings.Cut(after, "\n```\n")
	if !ok {
		t.Fatal("README's agent.hcl block does not end")
	}
	f := writeConfig(t, t.TempDir(), "agent.hcl", "# agent.hcl:"+block+"\n")
	ui := cli.NewMockUi()
	if code := (&AgentValidateCommand{Ui: ui}).Run([]string{f}); code != 0 {
		t.Fatalf("README's agent.hcl: exit %d: %s", code, ui.ErrorWriter.String())
	}
	if !strings.Contains(ui.OutputWriter.String(), "server+client") {
		t.Fatalf("README's agent.hcl is no longer a server+client: %s", ui.OutputWriter.String())
	}
}

// scripts/production is what an operator copies to a host: each config
// validates, given the TLS files `tls ca create` and `tls cert create`
// make where it names them, and the systemd unit's ExecStartPre and
// ExecStart are commands the CLI accepts on the config directory.
func TestProductionExamples(t *testing.T) {
	src, err := filepath.Abs("../scripts/production")
	if err != nil {
		t.Fatal(err)
	}
	tlsDir := t.TempDir()
	t.Chdir(tlsDir)
	ui := cli.NewMockUi()
	if code := (&TLSCACreateCommand{Meta: Meta{Ui: ui}}).Run(nil); code != 0 {
		t.Fatalf("tls ca create: %s", ui.ErrorWriter.String())
	}
	for _, role := range []string{"-server", "-client"} {
		if code := (&TLSCertCreateCommand{Meta: Meta{Ui: ui}}).Run([]string{role}); code != 0 {
			t.Fatalf("tls cert create %s: %s", role, ui.ErrorWriter.String())
		}
	}

	for _, tc := range []struct{ file, role string }{{"server.hcl", "server,"}, {"client.hcl", "client,"}} {
		b, err := os.ReadFile(filepath.Join(src, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "/etc/nomadlike.d/tls/") {
			t.Fatalf("%s names no TLS file under /etc/nomadlike.d/tls/", tc.file)
		}
		// The host's config directory, as the unit reads it.
		etc := t.TempDir()
		writeConfig(t, etc, tc.file, strings.ReplaceAll(string(b), "/etc/nomadlike.d/tls/", tlsDir+"/"))
		ui := cli.NewMockUi()
		if code := (&AgentValidateCommand{Ui: ui}).Run([]string{etc}); code != 0 {
			t.Fatalf("%s does not validate: %s", tc.file, ui.ErrorWriter.String())
		}
		if !strings.Contains(ui.OutputWriter.String(), ": "+tc.role) {
			t.Fatalf("%s: %s, want a %s", tc.file, ui.OutputWriter.String(), strings.TrimSuffix(tc.role, ","))
		}
	}

	unit, err := os.ReadFile(filepath.Join(src, "nomadlike.service"))
	if err != nil {
		t.Fatal(err)
	}
	exec := map[string][]string{}
	for _, line := range strings.Split(string(unit), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && strings.HasPrefix(k, "ExecStart") {
			exec[k] = strings.Fields(v)
		}
	}
	pre, start := exec["ExecStartPre"], exec["ExecStart"]
	if len(pre) < 3 || filepath.Base(pre[0]) != "nomadlike" || pre[1] != "agent" || pre[2] != "validate" {
		t.Fatalf("ExecStartPre %q is not nomadlike agent validate", pre)
	}
	if len(start) < 2 || filepath.Base(start[0]) != "nomadlike" || start[1] != "agent" {
		t.Fatalf("ExecStart %q is not nomadlike agent", start)
	}
	// The agent's flags in ExecStart parse, and read the directory the
	// ExecStartPre validates.
	_, paths, _, err := agent.CommandConfig(start[2:], io.Discard)
	if err != nil || !slices.Equal(paths, pre[3:]) {
		t.Fatalf("ExecStart %q: config paths %q, error %v; ExecStartPre validates %q", start, paths, err, pre[3:])
	}
}
