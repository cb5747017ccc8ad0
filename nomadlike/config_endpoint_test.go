package nomadlike

import (
	"net/http"
	"strings"
	"testing"

	"github.com/nomadlike/nomadlike/structs"
)

// TestConfig_PutKeepsStoredSecrets: what Get returns (secrets as <secret>,
// URL passwords as xxxxx) put back keeps the stored secrets; the raft
// state, not the scrubbed Get, is checked.
func TestConfig_PutKeepsStoredSecrets(t *testing.T) {
	s, _ := TestServer(t, nil)
	WaitForLeader(t, s)
	put := func(name, body string) error {
		var resp structs.ConfigApplyResponse
		return s.RPC("Config.Put", &structs.ConfigApplyRequest{Config: &structs.InstanceConfig{Name: name, Contents: body}}, &resp)
	}
	stored := func(name string) string {
		t.Helper()
		cfg, err := s.fsm.State().ConfigByName(nil, name)
		if err != nil || cfg == nil {
			t.Fatalf("state: %v %v", cfg, err)
		}
		return cfg.Contents
	}
	body := `
remote_write:
  - url: https://user:url-pw@mimir.example.com/api/v1/push
    basic_auth: {username: u, password: hunter2}
`
	if err := put("sec", body); err != nil {
		t.Fatal(err)
	}
	var got structs.SingleConfigResponse
	if err := s.RPC("Config.Get", &structs.ConfigSpecificRequest{Name: "sec"}, &got); err != nil {
		t.Fatal(err)
	}
	scrubbed := got.Config.Contents
	if strings.Contains(scrubbed, "hunter2") || strings.Contains(scrubbed, "url-pw") {
		t.Fatalf("get shows a secret:\n%s", scrubbed)
	}
	// Edit something else and put the scrubbed text back.
	if err := put("sec", scrubbed+"write_stale_on_shutdown: true\n"); err != nil {
		t.Fatal(err)
	}
	c := stored("sec")
	if !strings.Contains(c, "password: hunter2") || !strings.Contains(c, "user:url-pw@mimir") ||
		strings.Contains(c, "<secret>") || strings.Contains(c, "xxxxx") || !strings.Contains(c, "write_stale_on_shutdown: true") {
		t.Fatalf("stored:\n%s", c)
	}

	// No stored secret at that place: 400 naming the field; nothing written.
	err := put("fresh", "remote_write:\n  - url: http://a/push\n    basic_auth: {username: u, password: <secret>}\n")
	if codeOf(err) != http.StatusBadRequest ||
		!strings.Contains(err.Error(), `failed to validate config: remote_write[0].basic_auth.password: "<secret>" is a placeholder`) {
		t.Fatalf("placeholder without a stored secret: %v", err)
	}
	if cfg, _ := s.fsm.State().ConfigByName(nil, "fresh"); cfg != nil {
		t.Fatal("refused config stored")
	}
	// The endpoint moved: the password does not follow it.
	moved := strings.Replace(scrubbed, "mimir.example.com", "elsewhere.example.com", 1)
	if err := put("sec", moved); codeOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "remote_write[0].") {
		t.Fatalf("moved endpoint: %v", err)
	}
	if c := stored("sec"); !strings.Contains(c, "mimir.example.com") {
		t.Fatalf("refused put changed the config:\n%s", c)
	}
}

// TestConfig_GetStoredByOlderParser: contents an older parser stored and
// this one refuses (an SD type not built in) are still readable, scrubbed.
func TestConfig_GetStoredByOlderParser(t *testing.T) {
	s, _ := TestServer(t, nil)
	WaitForLeader(t, s)
	old := "name: legacy\nscrape_configs:\n- job_name: k8s\n  kubernetes_sd_configs:\n  - role: pod\n    bearer_token: k8s-token\n" +
		"remote_write:\n- url: https://u:url-pw@m.example.com/push\n  basic_auth: {username: u, password: hunter2}\n"
	req := &structs.ConfigApplyRequest{Config: &structs.InstanceConfig{Name: "legacy", Contents: old, JobNames: []string{"k8s"}}}
	if _, _, err := s.raftApply(structs.ConfigApplyRequestType, req); err != nil {
		t.Fatal(err)
	}
	var got structs.SingleConfigResponse
	if err := s.RPC("Config.Get", &structs.ConfigSpecificRequest{Name: "legacy"}, &got); err != nil {
		t.Fatal(err)
	}
	c := got.Config.Contents
	for _, secret := range []string{"k8s-token", "hunter2", "url-pw"} {
		if strings.Contains(c, secret) {
			t.Fatalf("%q shown:\n%s", secret, c)
		}
	}
	if !strings.Contains(c, "kubernetes_sd_configs") || !strings.Contains(c, "u:xxxxx@m.example.com") {
		t.Fatalf("get:\n%s", c)
	}
}
