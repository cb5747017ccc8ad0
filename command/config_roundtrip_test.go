package command

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nomadlike/nomadlike/agent"
)

// TestConfigGetPut_KeepsSecrets: `config get NAME > f; config put NAME f`
// against a real agent keeps the remote_write password, checked in the
// raft state rather than in the scrubbed GET.
func TestConfigGetPut_KeepsSecrets(t *testing.T) {
	a := agent.TestAgent(t, func(c *agent.Config) { f := false; c.Client.Enabled = &f })
	agent.WaitForAgentLeader(t, a)
	dir := t.TempDir()
	orig := filepath.Join(dir, "orig.yaml")
	body := "remote_write:\n- url: https://user:url-pw@mimir.example.com/push\n  basic_auth: {username: u, password: s3cret}\n"
	if err := os.WriteFile(orig, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	mustSucceed(t, runCommand(t, nil, "config put", "-address="+a.URL(), "rt", orig))

	r := runCommand(t, nil, "config get", "-address="+a.URL(), "rt")
	mustSucceed(t, r)
	if strings.Contains(r.stdout, "s3cret") || !strings.Contains(r.stdout, "<secret>") {
		t.Fatalf("config get shows:\n%s", r.stdout)
	}
	got := filepath.Join(dir, "got.yaml")
	if err := os.WriteFile(got, []byte(r.stdout+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runCommand(t, nil, "config put", "-address="+a.URL(), "rt", got)
	mustSucceed(t, r)

	cfg, err := a.Server().State().ConfigByName(nil, "rt")
	if err != nil || cfg == nil {
		t.Fatalf("state: %v %v", cfg, err)
	}
	if !strings.Contains(cfg.Contents, "password: s3cret") || !strings.Contains(cfg.Contents, "user:url-pw@mimir") ||
		strings.Contains(cfg.Contents, "<secret>") || strings.Contains(cfg.Contents, "xxxxx") {
		t.Fatalf("stored after the round trip:\n%s", cfg.Contents)
	}

	// Under another name there is no secret to keep: the CLI shows the 400.
	mustFail(t, runCommand(t, nil, "config put", "-address="+a.URL(), "copy", got),
		`remote_write[0].url: password "xxxxx" is a placeholder`)
}
