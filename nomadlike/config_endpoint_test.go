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

// TestConfig_LogsKind: logs_instance_configs are stored beside metrics
// ones under shared names: validated by the logs parser, read back
// scrubbed, their placeholders resolved on put, listed, read and deleted
// only as their kind, and a put of the other kind under a taken name is a
// 409.
func TestConfig_LogsKind(t *testing.T) {
	s, _ := TestServer(t, nil)
	WaitForLeader(t, s)
	put := func(name, kind, body string) error {
		var resp structs.ConfigApplyResponse
		return s.RPC("Config.Put", &structs.ConfigApplyRequest{Config: &structs.InstanceConfig{Name: name, Kind: kind, Contents: body}}, &resp)
	}
	logsBody := `clients:
  - url: http://loki.example.com:3100/loki/api/v1/push
    basic_auth: {username: u, password: hunter2}
scrape_configs:
  - job_name: varlogs
    static_configs:
      - labels: {job: varlogs, __path__: /var/log/*.log}
`
	if err := put("l", structs.ConfigKindLogs, logsBody); err != nil {
		t.Fatal(err)
	}
	if err := put("m", "", "scrape_configs: []\n"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, kind, body string
		code             int
		msg              string
	}{
		{"bad", structs.ConfigKindLogs, "clients: []\n", http.StatusBadRequest, "clients: at least one"},
		{"bad", structs.ConfigKindLogs, "clients: [{url: 'http://x'}]\npipeline_stages: []\n", http.StatusBadRequest, "pipeline_stages"},
		{"m", structs.ConfigKindLogs, logsBody, http.StatusConflict, "m is a metrics_instance_config"},
		{"l", "", "scrape_configs: []\n", http.StatusConflict, "l is a logs_instance_config"},
		{"x", "traces", "{}", http.StatusBadRequest, "unknown config kind"},
	} {
		err := put(tc.name, tc.kind, tc.body)
		if codeOf(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("put %s (%s): %v, want %d with %q", tc.name, tc.kind, err, tc.code, tc.msg)
		}
	}

	get := func(name, kind string) *structs.InstanceConfig {
		t.Helper()
		var out structs.SingleConfigResponse
		if err := s.RPC("Config.Get", &structs.ConfigSpecificRequest{Name: name, Kind: kind}, &out); err != nil {
			t.Fatal(err)
		}
		return out.Config
	}
	got := get("l", structs.ConfigKindLogs)
	if got == nil || strings.Contains(got.Contents, "hunter2") || !strings.Contains(got.Contents, "<secret>") {
		t.Fatalf("scrubbed logs config %+v", got)
	}
	if get("l", "") != nil || get("m", structs.ConfigKindLogs) != nil {
		t.Fatal("a config read as the other kind")
	}
	// The scrubbed text, edited and put back, keeps the password.
	if err := put("l", structs.ConfigKindLogs, got.Contents+"target_config: {sync_period: 30s}\n"); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.fsm.State().ConfigByName(nil, "l"); !strings.Contains(c.Contents, "hunter2") || !strings.Contains(c.Contents, "sync_period: 30s") {
		t.Fatalf("stored %s", c.Contents)
	}

	var list structs.ConfigListResponse
	if err := s.RPC("Config.List", &structs.ConfigSpecificRequest{Kind: structs.ConfigKindLogs}, &list); err != nil ||
		len(list.Configs) != 1 || list.Configs[0].Name != "l" {
		t.Fatalf("logs list %+v %v", list.Configs, err)
	}
	var revs structs.ConfigRevisionsResponse
	if err := s.RPC("Config.Revisions", &structs.ConfigSpecificRequest{Name: "l"}, &revs); codeOf(err) != http.StatusNotFound {
		t.Fatalf("revisions of a logs config read as metrics: %v", err)
	}
	var del structs.ConfigApplyResponse
	if err := s.RPC("Config.Delete", &structs.ConfigApplyRequest{Name: "l"}, &del); codeOf(err) != http.StatusNotFound {
		t.Fatalf("delete of a logs config as metrics: %v", err)
	}
	if err := s.RPC("Config.Delete", &structs.ConfigApplyRequest{Name: "l", Kind: structs.ConfigKindLogs}, &del); err != nil {
		t.Fatal(err)
	}
}
